// mcp_sessions: an open inserts once and only the first close counts, so the events applied twice (or an
// old one late, alone) leave the same rows.
import * as assert from 'uvu/assert';
import { McpSessionEvent, sessionStream } from '../../../domain/sessions/index.ts';
import { mcpSessionsProjection } from '../../../projections/mcp/index.ts';
import { applyTwice, projectionSuite, recorder } from '../../support/projections.ts';

const test = projectionSuite('projections: mcp_sessions');

const userId = '3f0b6c1e-5a2d-5e4f-9a1b-0c2d3e4f5a6b';
const first = '0f6b1c8e-1d2a-4c3b-9a7e-2b5c8d9e0f11';
const second = '5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const initializeParams = {
  protocolVersion: '2025-11-25',
  capabilities: {},
  clientInfo: { name: 'Claude', version: '1.0' },
};

test('two sessions opened and closed, one twice (the first close counts), applied twice', async ({ database }) => {
  const record = recorder(McpSessionEvent);
  const events = [
    record(sessionStream(first), {
      type: 'McpSessionOpened',
      data: {
        sessionId: first,
        userId,
        clientId: 'web-1',
        tokenId: 'g1.a1',
        protocolVersion: '2025-11-25',
        clientName: 'Claude',
        clientVersion: '1.0',
        initializeParams,
        openedAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2026-01-01T01:00:00.000Z',
      },
    }),
    record(sessionStream(second), {
      type: 'McpSessionOpened',
      data: {
        sessionId: second,
        userId,
        clientId: 'machine-1',
        protocolVersion: '2025-06-18',
        clientName: 'inspector',
        clientVersion: '0.9',
        initializeParams: { ...initializeParams, protocolVersion: '2025-06-18' },
        openedAt: '2026-01-01T00:05:00.000Z',
        expiresAt: '2026-01-01T01:05:00.000Z',
      },
    }),
    record(sessionStream(first), {
      type: 'McpSessionClosed',
      data: { sessionId: first, reason: 'deleted', at: '2026-01-01T00:30:00.000Z' },
    }),
    record(sessionStream(first), {
      type: 'McpSessionClosed',
      data: { sessionId: first, reason: 'expired', at: '2026-01-01T01:00:00.000Z' },
    }),
    record(sessionStream(second), {
      type: 'McpSessionClosed',
      data: {
        sessionId: second,
        reason: 'ended_by_admin',
        endedBy: { id: 'admin-1', email: 'admin@example.com' },
        at: '2026-01-01T00:45:00.000Z',
      },
    }),
  ];
  const rows = await applyTwice(database.db, mcpSessionsProjection, events, { mcp_sessions: 'id' });
  assert.equal(rows.mcp_sessions, [
    {
      id: first,
      user_id: userId,
      client_id: 'web-1',
      token_id: 'g1.a1',
      protocol_version: '2025-11-25',
      client_name: 'Claude',
      client_version: '1.0',
      status: 'closed',
      opened_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2026-01-01T01:00:00.000Z',
      closed_at: '2026-01-01T00:30:00.000Z',
      close_reason: 'deleted',
    },
    {
      id: second,
      user_id: userId,
      client_id: 'machine-1',
      token_id: null,
      protocol_version: '2025-06-18',
      client_name: 'inspector',
      client_version: '0.9',
      status: 'closed',
      opened_at: '2026-01-01T00:05:00.000Z',
      expires_at: '2026-01-01T01:05:00.000Z',
      closed_at: '2026-01-01T00:45:00.000Z',
      close_reason: 'ended_by_admin',
    },
  ]);
});

test.run();
