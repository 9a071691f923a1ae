// CSRF tokens and browser sessions (shared by the OAuth login and the admin panel), on real services.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { csrfToken, requireCsrf } from '../../http/csrf.ts';
import { errorHandler } from '../../http/errors.ts';
import { parseForm } from '../../http/forms.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

type Context = { server: TestServer; app: http.Server; url: string };
const test = suite<Context>('http: CSRF and browser sessions');

test.before(async (context) => {
  context.server = await startTestServer();
  const services = context.server.services;
  const app = new Koa();
  app.silent = true;
  app.use(async (ctx, next) => {
    ctx.state.site = { config: services.config, secret: services.secret };
    // What http/public-url.ts sets in the real app: the Origin check compares with this.
    ctx.state.publicUrl = services.config.publicUrl;
    await next();
  });
  app.use(errorHandler());
  app.use(async (ctx, next) => {
    if (ctx.path === '/form') ctx.body = { csrf: csrfToken(ctx) };
    else if (ctx.path === '/me') ctx.body = { session: (await services.browserSessions.current(ctx, 'admin')) ?? null };
    else await next();
  });
  app.use(parseForm);
  app.use(requireCsrf());
  app.use(async (ctx) => {
    if (ctx.path === '/login') {
      const user = await services.users.byEmail(context.server.adminEmail);
      ctx.body = await services.browserSessions.start(ctx, user!.id, 'admin');
    } else if (ctx.path === '/logout') {
      await services.browserSessions.end(ctx, 'admin');
      ctx.body = { ok: true };
    } else ctx.body = { ok: true };
  });
  context.app = http.createServer(app.callback());
  await new Promise<void>((resolve) => context.app.listen(0, '127.0.0.1', resolve));
  context.url = `http://127.0.0.1:${(context.app.address() as AddressInfo).port}`;
});
test.after(async ({ server, app }) => {
  app.close();
  await server.stop();
});

const cookiesOf = (response: Response) =>
  response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0]!)
    .join('; ');

const form = async ({ url }: Context) => {
  const response = await fetch(`${url}/form`);
  return { cookie: cookiesOf(response), csrf: ((await response.json()) as { csrf: string }).csrf };
};

const post = (context: Context, path: string, body: Record<string, string>, headers: Record<string, string>) =>
  fetch(`${context.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
    redirect: 'manual',
  });

test('the csrf cookie is HttpOnly, SameSite=Lax, Path=/ (no __Host- prefix on a loopback http issuer)', async (context) => {
  const response = await fetch(`${context.url}/form`);
  const [cookie] = response.headers.getSetCookie();
  assert.match(cookie ?? '', /^rmcp_csrf=[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
});

test('a POST with the right token and Origin passes', async (context) => {
  const { cookie, csrf } = await form(context);
  const response = await post(context, '/submit', { csrf }, { cookie, origin: context.server.base });
  assert.is(response.status, 200);
});

test('a POST without a token, with a wrong token, or another Origin is refused with 403 csrf_failed', async (context) => {
  const { cookie, csrf } = await form(context);
  const cases: [Record<string, string>, Record<string, string>][] = [
    [{}, { cookie, origin: context.server.base }],
    [{ csrf: `${csrf.slice(0, -2)}AA` }, { cookie, origin: context.server.base }],
    [{ csrf }, { cookie, origin: 'https://evil.example' }],
    [{ csrf }, { cookie }],
    [{ csrf }, { origin: context.server.base }],
  ];
  for (const [body, headers] of cases) {
    const response = await post(context, '/submit', body, { ...headers, accept: 'application/json' });
    assert.is(response.status, 403);
    assert.is(((await response.json()) as { code: string }).code, 'csrf_failed');
  }
});

test('a session survives requests, is refused when tampered with, and ends at logout (events written)', async (context) => {
  const { cookie, csrf } = await form(context);
  const login = await post(context, '/login', { csrf }, { cookie, origin: context.server.base });
  assert.is(login.status, 200);
  const sessionCookie = login.headers.getSetCookie().find((c) => c.startsWith('rmcp_admin='))!;
  assert.match(sessionCookie, /; Path=\/; HttpOnly; SameSite=Strict; Max-Age=28800$/);
  const jar = `${cookie}; ${sessionCookie.split(';')[0]}`;
  const me = (await (await fetch(`${context.url}/me`, { headers: { cookie: jar } })).json()) as {
    session: { id: string } | null;
  };
  assert.ok(me.session);
  const tampered = jar.replace(/rmcp_admin=([^.]+)\./, 'rmcp_admin=$1x.');
  assert.is(
    ((await (await fetch(`${context.url}/me`, { headers: { cookie: tampered } })).json()) as { session: null }).session,
    null,
  );
  const logout = await post(context, '/logout', { csrf }, { cookie: jar, origin: context.server.base });
  assert.is(logout.status, 200);
  assert.is(
    ((await (await fetch(`${context.url}/me`, { headers: { cookie: jar } })).json()) as { session: null }).session,
    null,
  );
  const events = await context.server.services.log.readStream(`browser-session-${me.session.id}`);
  assert.equal(
    events.map((e) => e.type),
    ['BrowserSessionStarted', 'BrowserSessionEnded'],
  );
});

test.run();
