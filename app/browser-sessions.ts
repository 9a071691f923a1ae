// Signed-in browsers: cookie `<id>.<mac>` (HMAC with the server secret), valid while the read model says
// the session is not ended or expired and its user is active. Used by the OAuth login and the admin panel.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { browserSessionDecider, browserSessionStream, type Purpose } from '../domain/browser-sessions/index.ts';
import type { Actor } from '../domain/shared.ts';
import { clearCookie, getCookie, setCookie } from '../http/cookies.ts';
import type { CoreServices } from './services.ts';
import { handleCommand } from './handle.ts';

export type BrowserSession = { id: string; userId: string; purpose: Purpose; expiresAt: Date };

const TTL_MS: Record<Purpose, number> = { oauth: 12 * 3_600_000, admin: 8 * 3_600_000 };
// SameSite=Strict for the admin panel; Lax for OAuth, whose login is reached by a cross-site redirect.
const SAME_SITE = { oauth: 'Lax', admin: 'Strict' } as const;
const cookieBase = (purpose: Purpose) => `rmcp_${purpose}`;

export class BrowserSessions {
  constructor(private readonly core: Omit<CoreServices, 'browserSessions'>) {}

  private mac(purpose: Purpose, id: string) {
    return createHmac('sha256', this.core.secret).update(`session:${purpose}:${id}`).digest('base64url');
  }

  async start(ctx: Koa.Context, userId: string, purpose: Purpose, now = new Date()): Promise<BrowserSession> {
    const id = randomBytes(24).toString('base64url');
    const ttlMs = TTL_MS[purpose];
    const actor: Actor = { type: 'user', id: userId };
    const result = await handleCommand(
      this.core.log,
      browserSessionStream(id),
      browserSessionDecider,
      { type: 'Start', sessionId: id, userId, purpose, now, ttlMs, ip: ctx.ip, userAgent: ctx.get('user-agent') },
      { actor, ...(ctx.state.requestId ? { requestId: ctx.state.requestId } : {}) },
    );
    await this.core.projections.waitFor(result.appended?.position, { names: ['browser_sessions'] });
    setCookie(ctx, this.core.config, cookieBase(purpose), `${id}.${this.mac(purpose, id)}`, {
      sameSite: SAME_SITE[purpose],
      maxAgeSeconds: ttlMs / 1_000,
    });
    return { id, userId, purpose, expiresAt: new Date(now.getTime() + ttlMs) };
  }

  /** The valid session of this browser for `purpose`, or undefined. */
  async current(ctx: Koa.Context, purpose: Purpose): Promise<BrowserSession | undefined> {
    const raw = getCookie(ctx, this.core.config, cookieBase(purpose));
    const [id, mac] = raw?.split('.') ?? [];
    if (!id || !mac) return undefined;
    const expected = Buffer.from(this.mac(purpose, id));
    if (Buffer.byteLength(mac) !== expected.length || !timingSafeEqual(Buffer.from(mac), expected)) return undefined;
    const row = (
      await this.core.db.query<{ user_id: string; expires_at: Date }>(
        // Also void: a session begun before the user's last password change or disable (the events that
        // end it may not be projected yet), and any session of a service user (it never signs in).
        `SELECT s.user_id, s.expires_at FROM browser_sessions s JOIN users u ON u.id = s.user_id
          LEFT JOIN user_credentials c ON c.user_id = s.user_id
          WHERE s.id = $1 AND s.purpose = $2 AND s.ended_at IS NULL AND s.expires_at > now() AND u.status = 'active'
            AND NOT ('service' = ANY (u.roles)) AND (c.sessions_valid_after IS NULL OR s.started_at >= c.sessions_valid_after)`,
        [id, purpose],
      )
    ).rows[0];
    return row ? { id, userId: row.user_id, purpose, expiresAt: row.expires_at } : undefined;
  }

  /** An admin ends someone's signed-in browser (e.g. a stolen laptop). False when it was not live. */
  async endById(sessionId: string, actor: Actor, now = new Date()): Promise<boolean> {
    const result = await handleCommand(
      this.core.log,
      browserSessionStream(sessionId),
      browserSessionDecider,
      { type: 'End', now, reason: 'revoked' },
      { actor },
    );
    await this.core.projections.waitFor(result.appended?.position, { names: ['browser_sessions'] });
    return result.events.length > 0;
  }

  async end(ctx: Koa.Context, purpose: Purpose, now = new Date()): Promise<void> {
    const session = await this.current(ctx, purpose);
    clearCookie(ctx, this.core.config, cookieBase(purpose), SAME_SITE[purpose]);
    if (!session) return;
    const result = await handleCommand(
      this.core.log,
      browserSessionStream(session.id),
      browserSessionDecider,
      { type: 'End', now, reason: 'logout' },
      {
        actor: { type: 'user', id: session.userId },
      },
    );
    await this.core.projections.waitFor(result.appended?.position, { names: ['browser_sessions'] });
  }
}
