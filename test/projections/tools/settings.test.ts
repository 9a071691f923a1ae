// tool_settings (an older revision never overwrites a newer one) and tool_calls (one row per event):
// the events applied twice, or resumed from any checkpoint, leave the same rows.
import * as assert from 'uvu/assert';
import { ToolCalled, ToolSettingEvent, toolAuditStream, toolStream } from '../../../domain/tools/index.ts';
import { toolCallsProjection, toolSettingsProjection } from '../../../projections/tools/settings.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: tool_settings and tool_calls');

const admin = { actor: { type: 'user', id: 'admin-1' } };

test('tool_settings: switched off and on again, applied twice, keeps the latest switch', async ({ database }) => {
  const record = recorder(ToolSettingEvent);
  const events = [
    record(
      toolStream('fetch'),
      { type: 'ToolDisabled', data: { name: 'fetch', reason: 'outbound calls', at: '2026-01-01T00:00:00.000Z' } },
      admin,
    ),
    record(
      toolStream('memory_search'),
      { type: 'ToolDisabled', data: { name: 'memory_search', at: '2026-01-01T00:01:00.000Z' } },
      admin,
    ),
    record(
      toolStream('fetch'),
      { type: 'ToolEnabled', data: { name: 'fetch', at: '2026-01-02T00:00:00.000Z' } },
      admin,
    ),
    record(
      toolStream('fetch'),
      { type: 'ToolDisabled', data: { name: 'fetch', reason: 'again', at: '2026-01-03T00:00:00.000Z' } },
      { actor: { type: 'system', id: 'cli' } },
    ),
  ];
  const rows = await applyTwice(database.db, toolSettingsProjection, events, { tool_settings: 'name' });
  assert.equal(rows.tool_settings, [
    {
      name: 'fetch',
      enabled: false,
      reason: 'again',
      changed_by: { type: 'system', id: 'cli' },
      updated_at: '2026-01-03T00:00:00.000Z',
      revision: '2',
    },
    {
      name: 'memory_search',
      enabled: false,
      reason: null,
      changed_by: { type: 'user', id: 'admin-1' },
      updated_at: '2026-01-01T00:01:00.000Z',
      revision: '0',
    },
  ]);
});

test('tool_calls: every call applied twice is still one row', async ({ database }) => {
  const record = recorder(ToolCalled);
  const events = [
    record(toolAuditStream('u1'), {
      type: 'ToolCalled',
      data: {
        callId: 'call-1',
        tool: 'fetch',
        userId: 'u1',
        clientId: 'c1',
        sessionId: 'mcp-s1',
        tokenId: 'g1.a1',
        arguments: { url: 'https://example.com/' },
        outcome: 'ok',
        durationMs: 12.5,
        at: '2026-01-01T00:00:00.000Z',
      },
    }),
    record(toolAuditStream('u1'), {
      type: 'ToolCalled',
      data: {
        callId: 'call-2',
        tool: 'write_file',
        userId: 'u1',
        clientId: 'c1',
        arguments: { path: '/etc/passwd' },
        outcome: 'denied',
        error: 'outside the allowed roots',
        durationMs: 0.25,
        at: '2026-01-01T00:00:01.000Z',
      },
    }),
    record(toolAuditStream('u2'), {
      type: 'ToolCalled',
      data: {
        callId: 'call-3',
        tool: 'fetch',
        userId: 'u2',
        clientId: 'c2',
        arguments: {},
        outcome: 'disabled',
        durationMs: 0.5,
        at: '2026-01-01T00:00:02.000Z',
      },
    }),
  ];
  const rows = await applyTwice(database.db, toolCallsProjection, events, { tool_calls: 'event_id' });
  assert.equal(
    rows.tool_calls!.map((row) => [row.call_id, row.outcome, row.duration_ms]),
    [
      ['call-1', 'ok', 12.5],
      ['call-2', 'denied', 0.25],
      ['call-3', 'disabled', 0.5],
    ],
  );
  assert.equal(rows.tool_calls![0], {
    event_id: events[0]!.id,
    call_id: 'call-1',
    tool: 'fetch',
    user_id: 'u1',
    client_id: 'c1',
    session_id: 'mcp-s1',
    token_id: 'g1.a1',
    arguments: { url: 'https://example.com/' },
    outcome: 'ok',
    error: null,
    duration_ms: 12.5,
    at: '2026-01-01T00:00:00.000Z',
  });
});

test.run();
