// browser_sessions: a start inserts once, an end keeps its first instant, so the events applied twice
// (or resumed from any checkpoint) leave the same rows.
import * as assert from 'uvu/assert';
import { BrowserSessionEvent, browserSessionStream } from '../../domain/browser-sessions/index.ts';
import { browserSessionsProjection } from '../../projections/browser-sessions.ts';
import { applyTwice, projectionSuite, recorder } from '../support/projections.ts';

const test = projectionSuite('projections: browser_sessions');

const userId = '3f0b6c1e-5a2d-5e4f-9a1b-0c2d3e4f5a6b';
const record = recorder(BrowserSessionEvent);

test('sessions started and ended, applied twice, leave the same rows', async ({ database }) => {
  const events = [
    record(browserSessionStream('s-admin'), {
      type: 'BrowserSessionStarted',
      data: {
        sessionId: 's-admin',
        userId,
        purpose: 'admin',
        startedAt: '2026-01-01T00:00:00.000Z',
        expiresAt: '2026-01-01T08:00:00.000Z',
        ip: '203.0.113.7',
        userAgent: 'Mozilla/5.0',
      },
    }),
    record(browserSessionStream('s-oauth'), {
      type: 'BrowserSessionStarted',
      data: {
        sessionId: 's-oauth',
        userId,
        purpose: 'oauth',
        startedAt: '2026-01-01T00:05:00.000Z',
        expiresAt: '2026-01-01T08:05:00.000Z',
      },
    }),
    record(browserSessionStream('s-admin'), {
      type: 'BrowserSessionEnded',
      data: { sessionId: 's-admin', reason: 'logout', at: '2026-01-01T01:00:00.000Z' },
    }),
  ];
  const rows = await applyTwice(database.db, browserSessionsProjection, events, { browser_sessions: 'id' });
  assert.equal(rows.browser_sessions, [
    {
      id: 's-admin',
      user_id: userId,
      purpose: 'admin',
      started_at: '2026-01-01T00:00:00.000Z',
      expires_at: '2026-01-01T08:00:00.000Z',
      ended_at: '2026-01-01T01:00:00.000Z',
      ip: '203.0.113.7',
      user_agent: 'Mozilla/5.0',
    },
    {
      id: 's-oauth',
      user_id: userId,
      purpose: 'oauth',
      started_at: '2026-01-01T00:05:00.000Z',
      expires_at: '2026-01-01T08:05:00.000Z',
      ended_at: null,
      ip: null,
      user_agent: null,
    },
  ]);
});

test.run();
