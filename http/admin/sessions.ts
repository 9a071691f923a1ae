// /admin/sessions: MCP sessions (live and recent, with their message streams and event counts) and
// browser sign-ins (OAuth and admin). Each part shows "not available yet" until its read model exists.
import Router from '@koa/router';
import type { HttpDeps } from '../deps.ts';
import { messageStream, sessionStream } from '../../domain/sessions/index.ts';
import { redirectDone, renderPage } from './page.ts';
import { adminActor } from './auth.ts';
import { requireCsrf } from '../csrf.ts';
import { parseForm } from '../forms.ts';
import { HttpError } from '../errors.ts';
import { clientNames } from './stats.ts';
import { LIVE_WINDOW_MS, endSessionByAdmin, livenessOf, sessionActivity } from '../../mcp/activity.ts';
import { statelessClients } from '../../mcp/modern/activity.ts';
import { grantExists } from '../../projections/oauth/grants.queries.ts';
import { mcpSessionExists, recentMcpSessions } from '../../projections/mcp/sessions.queries.ts';
import { browserSessionExists, recentBrowserSessions } from '../../projections/browser-sessions.queries.ts';

type Deps = Pick<HttpDeps, 'browserSessions' | 'db' | 'log' | 'logRing' | 'mcp' | 'oauth' | 'users'>;

const when = (date: Date | null) => (date ? date.toISOString().replace('T', ' ').slice(0, 19) : '');

export const sessionsRoutes = (services: Deps) => {
  const router = new Router();

  router.get('/admin/sessions', async (ctx) => {
    const [users, clients] = await Promise.all([services.users.list(), clientNames(services)]);
    const emails = new Map(users.map((user) => [user.id, user.email]));
    const now = Date.now();
    const mcpRows = await recentMcpSessions(services.db);
    // Last activity and message counts from the log itself (works for every EventLog adapter).
    const activity = await Promise.all(mcpRows.map((row) => sessionActivity(services, row.id, row.opened_at)));
    const at = new Date(now);
    const mcp = mcpRows.map((row, i) => {
      const { lastActiveAt, events } = activity[i]!;
      const state = livenessOf(
        { status: row.status, expiresAt: row.expires_at },
        lastActiveAt,
        services.mcp.sessions.attached(row.id),
        at,
      );
      return {
        ...row,
        state,
        open: row.status === 'open' && row.expires_at.getTime() > now,
        user: emails.get(row.user_id) ?? row.user_id,
        clientLabel: clients.get(row.client_id) ?? row.client_id,
        opened: when(row.opened_at),
        lastActive: when(lastActiveAt),
        expires: when(row.expires_at),
        closed: when(row.closed_at),
        closeReason: row.close_reason ? row.close_reason.replaceAll('_', ' ') : '',
        events,
        sessionStream: sessionStream(row.id),
        messageStream: messageStream(row.id),
      };
    });
    const rows = await recentBrowserSessions(services.db);
    const browser = rows.map((row) => ({
      ...row,
      live: !row.ended_at && row.expires_at.getTime() > now,
      user: emails.get(row.user_id) ?? row.user_id,
      started: when(row.started_at),
      expires: when(row.expires_at),
      ended: when(row.ended_at),
    }));
    // 2026-07-28 clients have no session: one row per grant, End revokes it.
    const stateless = (await statelessClients(services.db, services.mcp.bus, new Date(now))).map((client) => ({
      ...client,
      user: emails.get(client.userId) ?? client.userId,
      clientLabel: clients.get(client.clientId) ?? client.clientId,
      lastCall: when(client.lastCallAt ?? null),
    }));
    renderPage(ctx, 'sessions', {
      title: 'Sessions',
      section: 'sessions',
      mcp,
      stateless,
      browser,
      liveMinutes: LIVE_WINDOW_MS / 60_000,
    });
  });

  // End a stateless client: revoke its grant, so its tokens are refused and (through the log) its listen
  // streams are closed on every instance.
  router.post('/admin/sessions/grant/:id/end', parseForm, requireCsrf(), async (ctx) => {
    const id = ctx.params.id ?? '';
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new HttpError(404, 'not_found', 'no such grant');
    if (!(await grantExists(services.db, id))) throw new HttpError(404, 'not_found', 'no such grant');
    await services.oauth.revokeGrant(id, adminActor(ctx));
    redirectDone(ctx, '/admin/sessions', 'grant_ended');
  });

  // End an MCP session: its client is refused afterwards (404, as for an unknown session) on every instance.
  router.post('/admin/sessions/mcp/:id/end', parseForm, requireCsrf(), async (ctx) => {
    const id = ctx.params.id ?? '';
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new HttpError(404, 'not_found', 'no such MCP session');
    if (!(await mcpSessionExists(services.db, id))) throw new HttpError(404, 'not_found', 'no such MCP session');
    const ended = await endSessionByAdmin(services, services.mcp.sessions, id, adminActor(ctx));
    redirectDone(ctx, '/admin/sessions', ended ? 'mcp_session_ended' : 'mcp_session_already_closed');
  });

  // End another signed-in browser (OAuth or admin): its cookie stops working on its next request.
  router.post('/admin/sessions/browser/:id/end', parseForm, requireCsrf(), async (ctx) => {
    const id = ctx.params.id ?? '';
    if (!/^[\w-]{16,64}$/.test(id)) throw new HttpError(404, 'not_found', 'no such sign-in');
    if (!(await browserSessionExists(services.db, id))) throw new HttpError(404, 'not_found', 'no such sign-in');
    await services.browserSessions.endById(id, adminActor(ctx));
    redirectDone(ctx, '/admin/sessions', 'session_ended');
  });

  return router;
};
