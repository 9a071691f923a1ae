// An admin ends another signed-in browser: that browser's next request is signed out; the event names
// the admin; a forged or unknown id changes nothing.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';

const test = suite<{ server: TestServer }>('admin: end another browser sign-in');
test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test("admin A ends admin B's sign-in; B is sent to the login page; the event says who and why", async ({ server }) => {
  const a = new AdminClient(server.base);
  const b = new AdminClient(server.base);
  assert.is((await a.login(server.adminEmail, server.adminPassword)).status, 303);
  assert.is((await b.login(server.adminEmail, server.adminPassword)).status, 303);
  assert.is((await b.get('/admin')).status, 200);
  const bSession = b.cookies.get('rmcp_admin')!.split('.')[0]!;
  const page = await a.get('/admin/sessions');
  assert.ok(page.text.includes(`/admin/sessions/browser/${bSession}/end`), 'the page offers to end it');
  const csrf = await a.csrf('/admin/sessions');
  const ended = await a.post(`/admin/sessions/browser/${bSession}/end`, { csrf });
  assert.is(ended.status, 303);
  assert.match(ended.location ?? '', /\/admin\/sessions\?ok=session_ended/);
  const after = await b.get('/admin');
  assert.is(after.status, 302);
  assert.match(after.location ?? '', /\/admin\/login/);
  assert.is((await a.get('/admin')).status, 200, 'A is still signed in');
  const events = await server.services.log.readStream(`browser-session-${bSession}`);
  assert.equal(
    events.map((e) => e.type),
    ['BrowserSessionStarted', 'BrowserSessionEnded'],
  );
  assert.is((events[1]!.data as { reason: string }).reason, 'revoked');
  assert.is((events[1]!.metadata.actor as { email?: string }).email, server.adminEmail);
});

test('without CSRF, or for an unknown id: refused, nothing appended', async ({ server }) => {
  const a = new AdminClient(server.base);
  await a.login(server.adminEmail, server.adminPassword);
  const session = a.cookies.get('rmcp_admin')!.split('.')[0]!;
  const head = await server.services.log.headPosition();
  const noCsrf = await a.post(`/admin/sessions/browser/${session}/end`, {});
  assert.is(noCsrf.status, 403);
  const csrf = await a.csrf('/admin/sessions');
  const unknown = await a.post('/admin/sessions/browser/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/end', { csrf });
  assert.is(unknown.status, 404);
  assert.equal(await server.services.log.headPosition(), head);
  assert.is((await a.get('/admin')).status, 200);
});

test.run();
