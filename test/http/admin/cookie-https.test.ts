// With an https PUBLIC_URL the admin session cookie takes the __Host- prefix (RFC 6265bis §4.1.3.2).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { AdminClient } from './client.ts';

const secure = suite<{ server: TestServer }>('admin: https PUBLIC_URL cookie');
secure.before(async (context) => {
  context.server = await startTestServer({ PUBLIC_URL: 'https://admin.example.test' });
});
secure.after(async ({ server }) => server.stop());

secure(
  'with an https PUBLIC_URL the session cookie is __Host-rmcp_admin; Secure; HttpOnly; SameSite=Strict; Path=/',
  async ({ server }) => {
    // The server listens on plain loopback http; PUBLIC_URL (what browsers see, behind TLS) decides.
    const client = new AdminClient(server.url, 'https://admin.example.test');
    const reply = await client.login(server.adminEmail, server.adminPassword);
    assert.is(reply.status, 303);
    const cookie = reply.setCookies.find((line) => line.startsWith('__Host-rmcp_admin='));
    assert.ok(cookie, reply.setCookies.join(' | '));
    for (const flag of ['; Secure', '; HttpOnly', '; SameSite=Strict', '; Path=/'])
      assert.ok(cookie.includes(flag), flag);
    assert.not.match(cookie, /Domain=/i);
    assert.is((await client.get('/admin')).status, 200);
  },
);

secure.run();
