// The panel's Erase: a confirm page, then a POST that needs the CSRF token and the address typed again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSTEM } from '../../../domain/shared.ts';
import { csrfOf } from '../../support/browser.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';

const test = suite<{ server: TestServer; client: AdminClient }>('admin: erase a user');

test.before(async (context) => {
  context.server = await startTestServer();
  context.client = new AdminClient(context.server.base);
  assert.is((await context.client.login(context.server.adminEmail, context.server.adminPassword)).status, 303);
});
test.after(async ({ server }) => {
  await server?.stop();
});

const erasedEvents = async (server: TestServer, userId: string) =>
  (await server.services.log.readStream(`user-${userId}`)).filter((event) => event.type === 'UserErased');

test('without the typed address, or without CSRF, nothing is erased', async ({ server, client }) => {
  const userId = await server.services.users.create({ email: 'keep@example.test', password: 'keep-password' }, SYSTEM);
  const page = await client.get(`/admin/users/${userId}/erase`);
  assert.is(page.status, 200);
  assert.match(page.text, /Type the address to confirm/);
  const csrf = csrfOf(page.text);
  const wrong = await client.post(`/admin/users/${userId}/erase`, { csrf, confirm: 'someone@example.test' });
  assert.is(wrong.status, 400);
  const forged = await client.post(`/admin/users/${userId}/erase`, { confirm: 'keep@example.test' });
  assert.is(forged.status, 403);
  assert.equal(await erasedEvents(server, userId), []);
  assert.is((await server.services.users.byId(userId))?.status, 'active');
});

test('an admin cannot erase their own account', async ({ server, client }) => {
  const admin = await server.services.users.byEmail(server.adminEmail);
  const csrf = csrfOf((await client.get('/admin/users')).text);
  const reply = await client.post(`/admin/users/${admin!.id}/erase`, { csrf, confirm: server.adminEmail });
  assert.is(reply.status, 400);
  assert.equal(await erasedEvents(server, admin!.id), []);
});

test('confirmed: the user is erased, the event names the admin, the list shows "erased user"', async ({
  server,
  client,
}) => {
  const userId = await server.services.users.create(
    { email: 'gone@example.test', password: 'gone-password', name: 'Gone Person' },
    SYSTEM,
  );
  const csrf = csrfOf((await client.get(`/admin/users/${userId}/erase`)).text);
  const reply = await client.post(`/admin/users/${userId}/erase`, { csrf, confirm: ' Gone@Example.test ' });
  assert.is(reply.status, 303);
  const [erased] = await erasedEvents(server, userId);
  const admin = await server.services.users.byEmail(server.adminEmail);
  assert.equal(erased?.metadata.actor, { type: 'user', id: admin!.id, email: server.adminEmail });
  const list = (await client.get('/admin/users')).text;
  assert.not.ok(list.includes('gone@example.test'));
  assert.not.ok(list.includes('Gone Person'));
  assert.match(list, /erased user/);
  assert.is((await client.get(`/admin/users/${userId}/erase`)).status, 400);
});

test.run();
