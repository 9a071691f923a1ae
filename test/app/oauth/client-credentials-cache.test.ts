// app/oauth/token-service.ts: a client_credentials grant is never refreshed, so its state is not kept in the
// grant-state cache, where a busy machine client would push out the states that spare the next refresh or
// code exchange of an interactive grant its read of the stream.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { StateCache } from '../../../app/handle.ts';
import { TokenService } from '../../../app/oauth/token-service.ts';
import { grantDecider, grantStream, type GrantState } from '../../../domain/grants/index.ts';
import { MCP_READ } from '../../../domain/scopes.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const test = suite<{ server: TestServer }>('app/oauth: client_credentials and the grant-state cache');

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

test('a client_credentials token leaves the cached states as they were, its own not added', async ({ server }) => {
  const { services } = server;
  const machine = await services.oauth.createMachineClient(
    { name: 'cache-bot', userEmail: 'cache-bot@example.com', scopes: [MCP_READ] },
    { type: 'system', id: 'test' },
  );
  // One entry: any state the token's grant added would evict the interactive grant's.
  const cache = new StateCache<GrantState>(1);
  const interactive = grantStream('00000000-0000-4000-8000-00000000000a');
  const kept = { state: grantDecider.initialState(), version: 3n, sinceSnapshot: 0 };
  cache.set(interactive, kept);
  const tokens = new TokenService(services, services.oauth.keys, cache);
  for (let i = 0; i < 3; i += 1) {
    const response = await tokens.clientCredentials(machine.client, { scope: MCP_READ, resource: undefined });
    assert.is(response.token_type, 'Bearer');
    assert.is(response.scope, MCP_READ);
    const grantId = /^([0-9a-f-]{36})\./.exec(
      JSON.parse(Buffer.from(response.access_token.split('.')[1]!, 'base64url').toString()).jti,
    )?.[1];
    assert.ok(grantId);
    assert.is(cache.get(grantStream(grantId!)), undefined);
  }
  assert.is(cache.get(interactive), kept);
});

test.run();
