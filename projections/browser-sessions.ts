// Read model `browser_sessions`: which signed-in browsers are still valid (checked on every page view).
import { BrowserSessionEvent } from '../domain/browser-sessions/index.ts';
import { assertNever } from '../domain/shared.ts';
import { ERASED } from '../domain/personal.ts';
import type { Projection } from './sql.ts';

export const browserSessionsProjection: Projection = {
  name: 'browser_sessions',
  version: 1,
  tables: {
    browser_sessions: `CREATE TABLE {browser_sessions} (
      id         text PRIMARY KEY,
      user_id    uuid NOT NULL,
      purpose    text NOT NULL,
      started_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      ended_at   timestamptz,
      ip         text,
      user_agent text
    );
    CREATE INDEX {browser_sessions}_user ON {browser_sessions} (user_id)`,
  },
  eventTypes: [...BrowserSessionEvent.options.map((option) => option.shape.type.value), 'UserErased'],
  toStatements(recorded, t) {
    // An erasure leaves what a replay reads once the key is gone: placeholders where there was a value.
    if (recorded.type === 'UserErased') return [scrubBrowserSessions(recorded, t.browser_sessions!)];
    const event = BrowserSessionEvent.parse(recorded);
    switch (event.type) {
      case 'BrowserSessionStarted':
        return [
          {
            sql: `INSERT INTO ${t.browser_sessions} (id, user_id, purpose, started_at, expires_at, ip, user_agent)
                  VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
            params: [
              event.data.sessionId,
              event.data.userId,
              event.data.purpose,
              event.data.startedAt,
              event.data.expiresAt,
              event.data.ip ?? null,
              event.data.userAgent ?? null,
            ],
            batch: {
              key: event.data.sessionId,
              types: ['text', 'uuid', 'text', 'timestamptz', 'timestamptz', 'text', 'text'],
            },
          },
        ];
      case 'BrowserSessionEnded':
        return [
          {
            sql: `UPDATE ${t.browser_sessions} SET ended_at = coalesce(ended_at, $2) WHERE id = $1`,
            params: [event.data.sessionId, event.data.at],
            batch: { key: event.data.sessionId, types: ['text', 'timestamptz'] },
          },
        ];
      default:
        return assertNever(event);
    }
  },
};

const scrubBrowserSessions = (recorded: { data: unknown }, table: string) => ({
  sql: `UPDATE ${table} SET ip = CASE WHEN ip IS NULL THEN NULL ELSE $2 END,
          user_agent = CASE WHEN user_agent IS NULL THEN NULL ELSE $2 END WHERE user_id = $1`,
  params: [(recorded.data as { userId: string }).userId, ERASED],
});
