// The Sessions page's End for a stateless client revokes a grant: without CSRF, or for a malformed or
// unknown grant id, it is refused and nothing is appended.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';

const test = suite<{ server: TestServer }>('admin: end a stateless client (revoke its grant)');
test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('without CSRF → 403; malformed or unknown grant → 404; nothing appended', async ({ server }) => {
  const admin = new AdminClient(server.base);
  assert.is((await admin.login(server.adminEmail, server.adminPassword)).status, 303);
  const head = await server.services.log.headPosition();
  const unknown = '0f6b1c8e-1d2a-4c3b-9a7e-2b5c8d9e0f11';
  assert.is((await admin.post(`/admin/sessions/grant/${unknown}/end`, {})).status, 403);
  const csrf = await admin.csrf('/admin/sessions');
  assert.is((await admin.post(`/admin/sessions/grant/${unknown}/end`, { csrf })).status, 404);
  assert.is((await admin.post('/admin/sessions/grant/not-a-grant/end', { csrf })).status, 404);
  assert.equal(await server.services.log.headPosition(), head);
});

test.run();
