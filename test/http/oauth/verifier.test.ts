// The token check /mcp uses, against forged and stale tokens; key rotation keeps old tokens valid.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { freshTokens, reasonOf } from './support.ts';

const test = suite<{ server: TestServer; mcp: string; token: string; sub: string }>('oauth: token verifier and keys');

test.before(async (context) => {
  context.server = await startTestServer();
  context.mcp = `${context.server.base}/mcp`;
  const { tokens } = await freshTokens(context.server);
  context.token = tokens.access_token;
  context.sub = (await context.server.services.oauth.verifier.verify(tokens.access_token, context.mcp)).subject;
});
test.after(async ({ server }) => server.stop());

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const headerOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

/** Signs `claims` with the server's real signing key (as if the server had issued it). */
const withRealKey = async (server: TestServer, claims: Record<string, unknown>, typ = 'at+jwt') => {
  const { kid, key } = await server.services.oauth.keys.signingKey();
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ, kid }).sign(key);
};

test('a valid token passes; a tampered payload does not', async ({ server, mcp, token }) => {
  assert.ok(await server.services.oauth.verifier.verify(token, mcp));
  const [h, , s] = token.split('.');
  const tampered = `${h}.${b64({ ...claimsOf(token), scope: 'mcp:tools:read mcp:tools:write admin' })}.${s}`;
  assert.is(await reasonOf(server.services.oauth.verifier.verify(tampered, mcp)), 'invalid_signature');
});

test('alg: none is refused', async ({ server, mcp, token }) => {
  const forged = `${b64({ alg: 'none', typ: 'at+jwt', kid: headerOf(token).kid })}.${b64(claimsOf(token))}.`;
  assert.is(await reasonOf(server.services.oauth.verifier.verify(forged, mcp)), 'invalid_signature');
});

test('HS256 signed with the public key (algorithm confusion) is refused', async ({ server, mcp, token }) => {
  const jwks = (await (await fetch(`${server.base}/oauth/jwks`)).json()) as { keys: Record<string, unknown>[] };
  const publicJwk = jwks.keys[0]!;
  const forged = await new SignJWT(claimsOf(token))
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: String(publicJwk.kid) })
    .sign(new TextEncoder().encode(JSON.stringify(publicJwk)));
  assert.is(await reasonOf(server.services.oauth.verifier.verify(forged, mcp)), 'invalid_signature');
});

test('a key we never published (unknown kid, or a known kid with another key) is refused', async ({
  server,
  mcp,
  token,
}) => {
  const { privateKey } = await generateKeyPair('ES256');
  const unknownKid = await new SignJWT(claimsOf(token))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'not-ours' })
    .sign(privateKey);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(unknownKid, mcp)), 'invalid_signature');
  const stolenKid = await new SignJWT(claimsOf(token))
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: String(headerOf(token).kid) })
    .sign(privateKey);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(stolenKid, mcp)), 'invalid_signature');
});

test('wrong iss, wrong aud, expired, and an id-token-typed JWT are refused with their reasons', async ({
  server,
  mcp,
  token,
}) => {
  const claims = claimsOf(token);
  const now = Math.floor(Date.now() / 1_000);
  assert.is(
    await reasonOf(
      server.services.oauth.verifier.verify(await withRealKey(server, { ...claims, iss: 'https://evil.example' }), mcp),
    ),
    'wrong_issuer',
  );
  assert.is(
    await reasonOf(
      server.services.oauth.verifier.verify(
        await withRealKey(server, { ...claims, aud: 'https://evil.example/mcp' }),
        mcp,
      ),
    ),
    'wrong_audience',
  );
  assert.is(
    await reasonOf(
      server.services.oauth.verifier.verify(
        await withRealKey(server, { ...claims, iat: now - 700, exp: now - 100 }),
        mcp,
      ),
    ),
    'expired',
  );
  assert.is(
    await reasonOf(server.services.oauth.verifier.verify(await withRealKey(server, claims, 'JWT'), mcp)),
    'malformed',
  );
  assert.is(await reasonOf(server.services.oauth.verifier.verify('not.a.jwt', mcp)), 'malformed');
});

test('an expired token is inactive at introspection', async ({ server, token }) => {
  const now = Math.floor(Date.now() / 1_000);
  const expired = await withRealKey(server, { ...claimsOf(token), iat: now - 700, exp: now - 100 });
  const rs = await server.services.oauth.createConfidentialClient({ name: 'rs' }, { type: 'system', id: 'test' });
  const response = await fetch(`${server.base}/oauth/introspect`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${rs.client.clientId}:${rs.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token: expired }),
  });
  assert.equal(await response.json(), { active: false });
});

test('key rotation: new tokens use the new kid; the old key stays in the JWKS and its tokens stay valid', async ({
  server,
  mcp,
  token,
}) => {
  const oldKid = headerOf(token).kid;
  const newKid = await server.services.oauth.rotateKeys({ type: 'system', id: 'test' });
  assert.is.not(newKid, oldKid);
  const jwks = (await (await fetch(`${server.base}/oauth/jwks`)).json()) as { keys: { kid: string; d?: string }[] };
  assert.equal(jwks.keys.map((key) => key.kid).sort(), [String(oldKid), newKid].sort());
  assert.ok(
    jwks.keys.every((key) => key.d === undefined),
    'no private key material in the JWKS',
  );
  assert.ok(await server.services.oauth.verifier.verify(token, mcp));
  const { tokens } = await freshTokens(server);
  assert.is(headerOf(tokens.access_token).kid, newKid);
  const events = (await server.services.log.readStream('oauth-keys')).map((event) => event.type);
  assert.equal(events, ['SigningKeyAdded', 'SigningKeyRetired', 'SigningKeyAdded']);
});

test.run();
