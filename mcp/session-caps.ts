// Open MCP sessions per user and per access token (MCP_MAX_SESSIONS_PER_USER / _PER_TOKEN), checked when
// a session is created (never per request). Beyond a cap, `initialize` gets 429 with Retry-After: the
// time until the oldest counted session expires (or the client ends one with DELETE).
//
// How precise across instances: the count is the `mcp_sessions` read model (open and unexpired rows,
// whichever instance opened them) corrected by what this instance opened or closed itself and the read
// model has not shown yet. Opens on one instance are serialized per user, so one instance never exceeds
// a cap. Instances opening sessions for the same user at the same moment can each admit one more than
// the cap before the projection shows the other's (about one projection round, well under a second):
// the overshoot is at most the number of instances minus one, per projection round. Closed and expired
// sessions never count.
import type { Database } from '../db/database.ts';
import { liveSessionsOfUser } from '../projections/mcp/sessions.queries.ts';

export type SessionCapLimits = { readonly perUser: number; readonly perToken: number };
export type SessionCapRefusal = {
  readonly cap: 'user' | 'token';
  readonly limit: number;
  readonly retryAfterSeconds: number;
};

type Local = {
  readonly userId: string;
  readonly tokenId: string | undefined;
  readonly expiresAt: number;
  readonly at: number;
};

/** How long this instance remembers its own opens and closes: far longer than the projection's lag. */
const REMEMBER_MS = 5 * 60_000;

export class SessionCaps {
  /** Sessions opened here lately (the read model may not have them yet). */
  private readonly opened = new Map<string, Local>();
  /** Sessions closed here lately (the read model may still show them open). */
  private readonly closed = new Map<string, number>();
  /** Per user: the admission running now (check + open run one at a time per user on this instance). */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: Pick<Database, 'query'>,
    private readonly limits: SessionCapLimits,
  ) {}

  /**
   * Runs `open` (which appends the session) if the caller is under both caps, one admission per user at a
   * time; otherwise returns the refusal and runs nothing.
   */
  async admit(
    caller: { userId: string; tokenId: string | undefined },
    session: { sessionId: string; expiresAt: Date },
    open: () => Promise<void>,
    now = new Date(),
  ): Promise<SessionCapRefusal | undefined> {
    const previous = this.queues.get(caller.userId) ?? Promise.resolve();
    const turn = previous.then(async () => {
      const refusal = await this.check(caller, now);
      if (refusal) return refusal;
      await open();
      this.opened.set(session.sessionId, {
        userId: caller.userId,
        tokenId: caller.tokenId,
        expiresAt: session.expiresAt.getTime(),
        at: Date.now(),
      });
      return undefined;
    });
    const settled = turn.catch(() => undefined);
    this.queues.set(caller.userId, settled);
    void settled.then(() => {
      if (this.queues.get(caller.userId) === settled) this.queues.delete(caller.userId);
    });
    return turn;
  }

  /** A session ended here (DELETE, expiry, closed elsewhere): it stops counting at once. */
  closedHere(sessionId: string): void {
    this.closed.set(sessionId, Date.now());
  }

  private async check(
    caller: { userId: string; tokenId: string | undefined },
    now: Date,
  ): Promise<SessionCapRefusal | undefined> {
    this.forgetOld();
    const mine = [...this.opened].filter(([, local]) => local.userId === caller.userId);
    // One round trip: the user's open sessions (a token's sessions are among its user's).
    const rows = await liveSessionsOfUser(this.db, caller.userId, now);
    const sessions = new Map<string, { tokenId: string | undefined; expiresAt: number }>();
    for (const row of rows)
      sessions.set(row.id, { tokenId: row.token_id ?? undefined, expiresAt: new Date(row.expires_at).getTime() });
    for (const [id, local] of mine)
      if (local.expiresAt > now.getTime()) sessions.set(id, { tokenId: local.tokenId, expiresAt: local.expiresAt });
    for (const id of this.closed.keys()) sessions.delete(id);

    const byUser = [...sessions.values()];
    if (byUser.length >= this.limits.perUser) return refusal('user', this.limits.perUser, byUser, now);
    if (caller.tokenId) {
      const byToken = byUser.filter((session) => session.tokenId === caller.tokenId);
      if (byToken.length >= this.limits.perToken) return refusal('token', this.limits.perToken, byToken, now);
    }
    return undefined;
  }

  private forgetOld(): void {
    const before = Date.now() - REMEMBER_MS;
    for (const [id, local] of this.opened) if (local.at < before) this.opened.delete(id);
    for (const [id, at] of this.closed) if (at < before) this.closed.delete(id);
  }
}

const refusal = (
  cap: 'user' | 'token',
  limit: number,
  counted: { expiresAt: number }[],
  now: Date,
): SessionCapRefusal => {
  const next = Math.min(...counted.map((session) => session.expiresAt));
  return { cap, limit, retryAfterSeconds: Math.max(1, Math.ceil((next - now.getTime()) / 1_000)) };
};
