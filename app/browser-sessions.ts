// Signed-in browsers as an application service: start and end sessions through their decider, and read
// whether one is still valid. The cookie that carries the id lives in http/browser-sessions.ts.
import { randomBytes } from 'node:crypto';
import { browserSessionDecider, browserSessionStream, type Purpose } from '../domain/browser-sessions/index.ts';
import type { Actor } from '../domain/shared.ts';
import type { CoreServices } from './core.ts';
import { handleCommand } from './handle.ts';
import { liveBrowserSession } from '../projections/browser-sessions.queries.ts';
import { browserSessionsProjection } from '../projections/browser-sessions.ts';

export type BrowserSession = { id: string; userId: string; purpose: Purpose; expiresAt: Date };

export const SESSION_TTL_MS: Record<Purpose, number> = { oauth: 12 * 3_600_000, admin: 8 * 3_600_000 };

export type StartSession = {
  userId: string;
  purpose: Purpose;
  ip: string;
  userAgent: string;
  requestId?: string | undefined;
  now?: Date;
};

export class BrowserSessionService {
  constructor(private readonly core: Pick<CoreServices, 'log' | 'projections' | 'db'>) {}

  async start({ userId, purpose, ip, userAgent, requestId, now = new Date() }: StartSession): Promise<BrowserSession> {
    const id = randomBytes(24).toString('base64url');
    const ttlMs = SESSION_TTL_MS[purpose];
    const actor: Actor = { type: 'user', id: userId };
    const result = await handleCommand(
      this.core.log,
      browserSessionStream(id),
      browserSessionDecider,
      { type: 'Start', sessionId: id, userId, purpose, now, ttlMs, ip, userAgent },
      { actor, ...(requestId ? { requestId } : {}) },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [browserSessionsProjection] });
    return { id, userId, purpose, expiresAt: new Date(now.getTime() + ttlMs) };
  }

  /** The session `id` for `purpose` if it is live, else undefined. */
  async find(id: string, purpose: Purpose): Promise<BrowserSession | undefined> {
    const row = await liveBrowserSession(this.core.db, id, purpose);
    return row ? { id, userId: row.user_id, purpose, expiresAt: row.expires_at } : undefined;
  }

  /** Ends a session; `reason` says whether its user signed out or an admin revoked it. False when it was not live. */
  async end(sessionId: string, actor: Actor, reason: 'logout' | 'revoked', now = new Date()): Promise<boolean> {
    const result = await handleCommand(
      this.core.log,
      browserSessionStream(sessionId),
      browserSessionDecider,
      { type: 'End', now, reason },
      { actor },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [browserSessionsProjection] });
    return result.events.length > 0;
  }
}
