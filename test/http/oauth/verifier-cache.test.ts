// The verifier's short cache must never let a token through after a revocation made on this instance.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SYSTEM } from '../../../domain/shared.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { freshTokens, reasonOf } from './support.ts';

const test = suite<{ server: TestServer }>('oauth: verifier cache and local revocation');
test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('a cached token is refused right after /oauth/revoke returns', async ({ server }) => {
  const { tokens, client } = await freshTokens(server);
  const resource = `${server.base}/mcp`;
  const verifier = server.services.oauth.verifier;
  assert.is(await reasonOf(verifier.verify(tokens.access_token, resource)), undefined);
  assert.is(await reasonOf(verifier.verify(tokens.access_token, resource)), undefined); // now cached
  const revoke = await fetch(`${server.base}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: tokens.access_token, client_id: client.client_id }),
  });
  assert.is(revoke.status, 200);
  assert.is(await reasonOf(verifier.verify(tokens.access_token, resource)), 'revoked');
});

test('a cached token is refused right after its user is disabled here', async ({ server }) => {
  await server.services.users.create({ email: 'cache@example.com', password: 'cache-password' }, SYSTEM);
  const { tokens } = await freshTokens(server, { user: { email: 'cache@example.com', password: 'cache-password' } });
  const resource = `${server.base}/mcp`;
  const verifier = server.services.oauth.verifier;
  assert.is(await reasonOf(verifier.verify(tokens.access_token, resource)), undefined);
  await server.services.users.disable('cache@example.com', SYSTEM);
  assert.is(await reasonOf(verifier.verify(tokens.access_token, resource)), 'revoked');
});

test.run();
