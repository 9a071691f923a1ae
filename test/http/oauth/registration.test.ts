// RFC 7591 dynamic registration and RFC 7592 management over HTTP; metadata-document client ids that
// point at private addresses are refused when DANGEROUSLY_ALLOW_PRIVATE_CIMD is off.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import {
  authorize,
  authorizeUrl,
  Browser,
  codeRequest,
  eventCount,
  eventsSince,
  freshTokens,
  pkce,
  register,
  typesOf,
} from './support.ts';

const CLAUDE = 'https://claude.ai/api/mcp/auth_callback';
const test = suite<{ server: TestServer }>('oauth: dynamic registration (RFC 7591/7592)');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test("Claude's callback registers as a public client: 201, defaults, no secret, ClientRegistered event; authorize goes to login", async ({
  server,
}) => {
  const since = await eventCount(server);
  const { status, body } = await register(server.base, {
    client_name: 'Claude',
    redirect_uris: [CLAUDE],
    token_endpoint_auth_method: 'none',
  });
  assert.is(status, 201);
  assert.is(body.client_secret, undefined);
  assert.equal(body.grant_types, ['authorization_code', 'refresh_token']);
  assert.equal(body.response_types, ['code']);
  assert.equal(body.redirect_uris, [CLAUDE]);
  assert.is(body.token_endpoint_auth_method, 'none');
  assert.ok(body.registration_access_token);
  assert.is(body.registration_client_uri, `${server.base}/oauth/register/${body.client_id}`);
  assert.equal(typesOf(await eventsSince(server, since)), ['ClientRegistered']);
  const stored = (await server.services.log.readStream(`oauth-client-${body.client_id}`))[0]!.data as Record<
    string,
    unknown
  >;
  assert.is.not(stored.registrationTokenHash, body.registration_access_token, 'only the hash is stored');
  const start = await authorize(server, codeRequest(body.client_id, pkce().challenge, { redirect_uri: CLAUDE }));
  assert.is(start.status, 303);
  assert.match(start.headers.get('location')!, /\/oauth\/login\?request=/);
  assert.ok((await server.services.oauth.clients.list()).some((row) => row.client_id === body.client_id));
});

test('a confidential registration gets a client_secret (once); only its hash is stored', async ({ server }) => {
  const { status, body } = await register(server.base, {
    redirect_uris: ['https://app.example/cb'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  assert.is(status, 201);
  assert.type(body.client_secret, 'string');
  const events = await server.services.log.readStream(`oauth-client-${body.client_id}`);
  assert.not.match(JSON.stringify(events.map((event) => event.data)), body.client_secret!);
});

for (const [name, uris, code] of [
  ['javascript: URI', ['javascript:alert(1)'], 'invalid_redirect_uri'],
  ['data: URI', ['data:text/html,<script>alert(1)</script>'], 'invalid_redirect_uri'],
  ['http on a public host', ['http://app.example/cb'], 'invalid_redirect_uri'],
  ['fragment', ['https://app.example/cb#x'], 'invalid_redirect_uri'],
  ['relative URI', ['/cb'], 'invalid_redirect_uri'],
  ['userinfo', ['https://user:pw@app.example/cb'], 'invalid_redirect_uri'],
  ['no redirect URI for a code client', [], 'invalid_redirect_uri'],
  ['custom scheme for a web app', ['myapp://cb'], 'invalid_redirect_uri'],
] as const) {
  test(`registration with ${name} → 400 ${code}, no event`, async ({ server }) => {
    const since = await eventCount(server);
    const { status, body } = await register(server.base, { redirect_uris: uris, token_endpoint_auth_method: 'none' });
    assert.is(status, 400);
    assert.is(body.error, code);
    assert.equal(await eventsSince(server, since), []);
  });
}

test('registration: bad metadata → 400 invalid_client_metadata; native apps may use a reverse-domain scheme', async ({
  server,
}) => {
  for (const metadata of [
    { redirect_uris: ['https://a.example/cb'], token_endpoint_auth_method: 'private_key_jwt' },
    { redirect_uris: ['https://a.example/cb'], grant_types: ['implicit'] },
    { redirect_uris: ['https://a.example/cb'], scope: 'admin' },
    {
      redirect_uris: ['https://a.example/cb'],
      grant_types: ['client_credentials'],
      token_endpoint_auth_method: 'none',
    },
  ]) {
    const { status, body } = await register(server.base, metadata);
    assert.is(status, 400, JSON.stringify(metadata));
    assert.is(body.error, 'invalid_client_metadata', JSON.stringify(metadata));
  }
  const native = await register(server.base, {
    redirect_uris: ['com.example.app:/cb'],
    application_type: 'native',
    token_endpoint_auth_method: 'none',
  });
  assert.is(native.status, 201);
});

test('RFC 7592: read, update and delete with the registration access token; wrong token → 401 invalid_token', async ({
  server,
}) => {
  const { body } = await register(server.base, {
    client_name: 'Managed',
    redirect_uris: ['https://m.example/cb'],
    token_endpoint_auth_method: 'none',
  });
  const uri = `${server.base}/oauth/register/${body.client_id}`;
  const auth = { authorization: `Bearer ${body.registration_access_token}` };
  const read = await fetch(uri, { headers: auth });
  assert.is(read.status, 200);
  assert.is(((await read.json()) as { client_name: string }).client_name, 'Managed');
  const wrong = await fetch(uri, { headers: { authorization: 'Bearer nope' } });
  assert.is(wrong.status, 401);
  assert.is(((await wrong.json()) as { error: string }).error, 'invalid_token');
  const other = await register(server.base, {
    redirect_uris: ['https://o.example/cb'],
    token_endpoint_auth_method: 'none',
  });
  const crossed = await fetch(uri, { headers: { authorization: `Bearer ${other.body.registration_access_token}` } });
  assert.is(crossed.status, 401);
  const updated = await fetch(uri, {
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: body.client_id,
      client_name: 'Renamed',
      redirect_uris: ['https://m.example/cb2'],
      token_endpoint_auth_method: 'none',
    }),
  });
  assert.is(updated.status, 200);
  assert.equal(((await updated.json()) as { redirect_uris: string[] }).redirect_uris, ['https://m.example/cb2']);
  const deleted = await fetch(uri, { method: 'DELETE', headers: auth });
  assert.is(deleted.status, 204);
  const after = await authorize(
    server,
    codeRequest(body.client_id, pkce().challenge, { redirect_uri: 'https://m.example/cb2' }),
  );
  assert.is(after.status, 400);
  assert.is(after.headers.get('location'), null);
});

test('without DANGEROUSLY_ALLOW_PRIVATE_CIMD a metadata-document client_id on a private or loopback address is refused (400 page)', async ({
  server,
}) => {
  for (const clientId of [
    'https://127.0.0.1:1/client.json',
    'https://localhost:1/client.json',
    'https://[::1]:1/client.json',
    'https://10.1.2.3/client.json',
    'https://169.254.169.254/latest/meta-data',
    'http://127.0.0.1:1/client.json',
  ]) {
    const response = await authorize(server, codeRequest(clientId, pkce().challenge, { redirect_uri: CLAUDE }));
    assert.is(response.status, 400, clientId);
    assert.is(response.headers.get('location'), null);
  }
  const literal = await new Browser(server.base).get(
    authorizeUrl(server.base, {
      response_type: 'code',
      client_id: 'https://127.0.0.1:1/client.json',
      redirect_uri: CLAUDE,
    }),
    { accept: 'application/json' },
  );
  assert.match(((await literal.json()) as { detail: string }).detail, /private address/);
  const dns = await new Browser(server.base).get(
    authorizeUrl(server.base, {
      response_type: 'code',
      client_id: 'https://localhost:1/client.json',
      redirect_uri: CLAUDE,
    }),
    { accept: 'application/json' },
  );
  assert.match(((await dns.json()) as { detail: string }).detail, /private address/);
});

test('idle public clients expire after 90 days without use; a client with a live grant stays', async ({ server }) => {
  const { body: idle } = await register(server.base, {
    redirect_uris: ['https://idle.example/cb'],
    token_endpoint_auth_method: 'none',
  });
  const expired = await server.services.oauth.clients.expireIdle(new Date(Date.now() + 91 * 86_400_000));
  assert.ok(expired.includes(idle.client_id));
  assert.is(await server.services.oauth.clients.find(idle.client_id), undefined);
  const deleted = (await server.services.log.readStream(`oauth-client-${idle.client_id}`)).at(-1)!;
  assert.equal([deleted.type, (deleted.data as { reason: string }).reason], ['ClientDeleted', 'idle']);
  // Within 90 days nothing expires.
  assert.equal(await server.services.oauth.clients.expireIdle(new Date(Date.now() + 86_400_000)), []);
  // A client whose grant still holds a live refresh token is in use, however old.
  const { client } = await freshTokens(server);
  // The token response does not wait for the grants read model; the sweep reads it.
  for (let i = 0; i < 250; i += 1) {
    const { rows } = await server.services.db.query(
      `SELECT 1 FROM oauth_grants WHERE client_id = $1 AND status = 'active' AND refresh_expires_at IS NOT NULL`,
      [client.client_id],
    );
    if (rows.length > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const { body: unused } = await register(server.base, {
    redirect_uris: ['https://unused.example/cb'],
    token_endpoint_auth_method: 'none',
  });
  const swept = await server.services.oauth.clients.expireIdle(new Date(Date.now() + 86_400_000), 3_600_000);
  assert.ok(swept.includes(unused.client_id));
  assert.not.ok(swept.includes(client.client_id));
});

test('registration is rate limited per address → 429', async ({ server }) => {
  let status = 0;
  for (let attempt = 0; attempt < 25 && status !== 429; attempt += 1) {
    status = (
      await register(server.base, { redirect_uris: ['https://r.example/cb'], token_endpoint_auth_method: 'none' })
    ).status;
  }
  assert.is(status, 429);
});

test.run();
