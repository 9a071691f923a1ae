// What the admin panel says about an MCP session: live, idle or ended, and the admin's End action.
// "Live" cannot be "a client holds a stream open now" across instances (a GET stream lives on one
// instance only), so it is: a standalone stream attached on this instance, or activity (a message the
// server sent in the session, which every request and stream produces) in the last LIVE_WINDOW_MS.
import type { CoreServices } from '../app/core.ts';
import { handleCommand } from '../app/handle.ts';
import type { Actor } from '../domain/shared.ts';
import { mcpSessionDecider, messageStream, sessionStream } from '../domain/sessions/index.ts';
import type { SessionHosts } from './sessions.ts';
import { openMcpSessions } from '../projections/mcp/sessions.queries.ts';

/** A session with no message for this long (and no stream attached here) is idle, not live. */
export const LIVE_WINDOW_MS = 5 * 60_000;

export type Liveness = 'live' | 'idle' | 'ended';

export type SessionActivity = {
  /** The last message the server sent in the session, else its opening. */
  lastActiveAt: Date;
  /** Messages stored for the session so far (retention may have removed the oldest). */
  events: number;
};

/** One backwards read of the session's message stream (any EventLog adapter). */
export const sessionActivity = async (
  core: Pick<CoreServices, 'log'>,
  sessionId: string,
  openedAt: Date,
): Promise<SessionActivity> => {
  const [last] = await core.log.readStream(messageStream(sessionId), { backwards: true, maxCount: 1 });
  if (!last) return { lastActiveAt: openedAt, events: 0 };
  return {
    lastActiveAt: last.createdAt > openedAt ? last.createdAt : openedAt,
    events: Number(last.revision) + 1,
  };
};

export const livenessOf = (
  session: { status: string; expiresAt: Date },
  lastActiveAt: Date,
  attachedHere: boolean,
  now: Date,
): Liveness => {
  if (session.status !== 'open' || session.expiresAt <= now) return 'ended';
  return attachedHere || now.getTime() - lastActiveAt.getTime() < LIVE_WINDOW_MS ? 'live' : 'idle';
};

/** Open, unexpired sessions that are live by the rule above (the dashboard counter); at most `limit` are checked. */
export const countLiveSessions = async (
  core: Pick<CoreServices, 'db' | 'log'>,
  sessions: Pick<SessionHosts, 'attached'>,
  now = new Date(),
  limit = 1_000,
): Promise<number> => {
  const rows = await openMcpSessions(core.db, now, limit);
  const live = await Promise.all(
    rows.map(async (row) => {
      if (sessions.attached(row.id)) return true;
      // Opened within the window: live without reading its messages.
      if (now.getTime() - row.opened_at.getTime() < LIVE_WINDOW_MS) return true;
      const { lastActiveAt } = await sessionActivity(core, row.id, row.opened_at);
      return livenessOf({ status: 'open', expiresAt: row.expires_at }, lastActiveAt, false, now) === 'live';
    }),
  );
  return live.filter(Boolean).length;
};

/**
 * The admin's End: a McpSessionClosed naming the admin. This instance drops the session at once; the
 * others drop it when the event reaches them through the feed (mcp/feed.ts), and a session loaded from
 * the log afterwards is closed, so every instance answers 404 (MCP transports §Session Management).
 * Returns false when it was already closed.
 */
export const endSessionByAdmin = async (
  core: Pick<CoreServices, 'log'>,
  sessions: Pick<SessionHosts, 'drop'>,
  sessionId: string,
  admin: Actor,
  now = new Date(),
): Promise<boolean> => {
  const result = await handleCommand(
    core.log,
    sessionStream(sessionId),
    mcpSessionDecider,
    {
      type: 'CloseSession',
      reason: 'ended_by_admin',
      endedBy: { id: admin.id, ...(admin.type === 'user' && admin.email ? { email: admin.email } : {}) },
      now,
    },
    { actor: admin },
  );
  sessions.drop(sessionId);
  return result.events.length > 0;
};
