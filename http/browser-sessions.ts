// The browser side of signed-in sessions: cookie `<id>.<mac>` (HMAC with the server secret), valid while
// the read model says the session is live (app/browser-sessions.ts). Used by the OAuth login and the
// admin panel.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Config } from '../app/config.ts';
import { BrowserSessionService, SESSION_TTL_MS, type BrowserSession } from '../app/browser-sessions.ts';
import type { Purpose } from '../domain/browser-sessions/index.ts';
import type { Actor } from '../domain/shared.ts';
import { clearCookie, getCookie, setCookie } from './cookies.ts';

export type { BrowserSession } from '../app/browser-sessions.ts';

// SameSite=Strict for the admin panel; Lax for OAuth, whose login is reached by a cross-site redirect.
const SAME_SITE = { oauth: 'Lax', admin: 'Strict' } as const;
const cookieBase = (purpose: Purpose) => `rmcp_${purpose}`;

export class BrowserSessions {
  constructor(
    private readonly keys: { readonly config: Config; readonly secret: Buffer },
    private readonly sessions: BrowserSessionService,
  ) {}

  private mac(purpose: Purpose, id: string) {
    return createHmac('sha256', this.keys.secret).update(`session:${purpose}:${id}`).digest('base64url');
  }

  async start(ctx: Koa.Context, userId: string, purpose: Purpose, now = new Date()): Promise<BrowserSession> {
    const session = await this.sessions.start({
      userId,
      purpose,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent'),
      requestId: ctx.state.requestId,
      now,
    });
    setCookie(ctx, this.keys.config, cookieBase(purpose), `${session.id}.${this.mac(purpose, session.id)}`, {
      sameSite: SAME_SITE[purpose],
      maxAgeSeconds: SESSION_TTL_MS[purpose] / 1_000,
    });
    return session;
  }

  /** The valid session of this browser for `purpose`, or undefined. */
  async current(ctx: Koa.Context, purpose: Purpose): Promise<BrowserSession | undefined> {
    const raw = getCookie(ctx, this.keys.config, cookieBase(purpose));
    const [id, mac] = raw?.split('.') ?? [];
    if (!id || !mac) return undefined;
    const expected = Buffer.from(this.mac(purpose, id));
    if (Buffer.byteLength(mac) !== expected.length || !timingSafeEqual(Buffer.from(mac), expected)) return undefined;
    return this.sessions.find(id, purpose);
  }

  /** An admin ends someone's signed-in browser (e.g. a stolen laptop). False when it was not live. */
  endById(sessionId: string, actor: Actor, now = new Date()): Promise<boolean> {
    return this.sessions.end(sessionId, actor, 'revoked', now);
  }

  async end(ctx: Koa.Context, purpose: Purpose, now = new Date()): Promise<void> {
    const session = await this.current(ctx, purpose);
    clearCookie(ctx, this.keys.config, cookieBase(purpose), SAME_SITE[purpose]);
    if (!session) return;
    await this.sessions.end(session.id, { type: 'user', id: session.userId }, 'logout', now);
  }
}
