// A grant's state keeps only its newest refresh tokens; these tests hold the rules that used to rest on
// the whole list: RFC 9700 §4.14.2 reuse detection for any earlier token within its lifetime (found in
// the oauth_refresh_tokens read model), no events for a token the grant never issued, and the whole
// history still in the log.
import { decodeJwt } from 'jose';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Client } from '../../../domain/clients/index.ts';
import { ACCESS_WINDOW, REFRESH_WINDOW, grantStream } from '../../../domain/grants/index.ts';
import { grantIdOf, grantIdOfTokenId } from '../../../app/oauth/tokens.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { freshTokens, reasonOf, refreshRequest, typesOf } from './support.ts';

const test = suite<{ server: TestServer; mcp: string }>('oauth: reuse detection over a long grant history');

test.before(async (context) => {
  context.server = await startTestServer();
  context.mcp = `${context.server.base}/mcp`;
});
test.after(async ({ server }) => server.stop());

/** The grant's own stream (read from the log, strongly consistent) from `since` on. */
const grantEvents = async (server: TestServer, refreshToken: string, since = 0) =>
  (await server.services.log.readStream(grantStream(grantIdOf(refreshToken)!), { maxCount: 100_000 })).slice(since);

/** A fresh grant refreshed `n` times over HTTP; every refresh token it handed out, oldest first. */
const rotatedGrant = async (server: TestServer, n: number) => {
  const { client, tokens } = await freshTokens(server);
  const issued = [String(tokens.refresh_token)];
  const access = [String(tokens.access_token)];
  for (let index = 0; index < n; index += 1) {
    const response = await refreshRequest(server.base, client.client_id, issued.at(-1)!);
    assert.is(response.status, 200);
    issued.push(String(response.body.refresh_token));
    access.push(String(response.body.access_token));
  }
  await server.services.projections.waitFor(await server.services.log.headPosition());
  const found = (await server.services.oauth.clients.find(client.client_id)) as Client;
  return { client: found, issued, access };
};

test('RFC 9700 §4.14.2: the first refresh token, presented after more rotations than state keeps, revokes the grant', async ({
  server,
  mcp,
}) => {
  const { client, issued, access } = await rotatedGrant(server, REFRESH_WINDOW + 4);
  const since = (await grantEvents(server, issued[0]!)).length;
  const later = new Date(Date.now() + 31_000);
  assert.is(
    await reasonOf(
      server.services.oauth.tokens.refresh(
        client,
        { refreshToken: issued[0]!, scope: undefined, resource: undefined },
        later,
      ),
    ),
    'invalid_grant',
  );
  const written = await grantEvents(server, issued[0]!, since);
  assert.equal(typesOf(written), ['GrantRevoked']);
  assert.is((written[0]!.data as { reason: string }).reason, 'refresh_reuse');
  // The legitimate holder's newest token and access token die with the grant.
  const newest = await refreshRequest(server.base, client.clientId, issued.at(-1)!);
  assert.is(newest.status, 400);
  assert.is(newest.body.error, 'invalid_grant');
  assert.is(await reasonOf(server.services.oauth.verifier.verify(access.at(-1)!, mcp)), 'revoked');
});

test('a made-up token carrying a real grant id → 400 invalid_grant and no event; the grant keeps working', async ({
  server,
}) => {
  const { client, issued } = await rotatedGrant(server, REFRESH_WINDOW + 4);
  const grantId = grantIdOf(issued[0]!)!;
  const since = (await grantEvents(server, issued[0]!)).length;
  const forged = await refreshRequest(server.base, client.clientId, `${grantId}.${'A'.repeat(43)}`);
  assert.is(forged.status, 400);
  assert.is(forged.body.error, 'invalid_grant');
  assert.equal(typesOf(await grantEvents(server, issued[0]!, since)), []);
  const newest = await refreshRequest(server.base, client.clientId, issued.at(-1)!);
  assert.is(newest.status, 200);
});

test('an earlier token past its own lifetime is refused as invalid_grant and revokes nothing', async ({ server }) => {
  const { client, issued } = await rotatedGrant(server, REFRESH_WINDOW + 4);
  const since = (await grantEvents(server, issued[0]!)).length;
  const afterLifetime = new Date(Date.now() + server.services.config.refreshTokenTtlMs + 60_000);
  assert.is(
    await reasonOf(
      server.services.oauth.tokens.refresh(
        client,
        { refreshToken: issued[0]!, scope: undefined, resource: undefined },
        afterLifetime,
      ),
    ),
    'invalid_grant',
  );
  assert.equal(typesOf(await grantEvents(server, issued[0]!, since)), []);
});

test('RFC 7009 §2.1: revoking with an earlier refresh token of the grant still revokes the grant', async ({
  server,
}) => {
  const { client, issued } = await rotatedGrant(server, REFRESH_WINDOW + 4);
  const since = (await grantEvents(server, issued[0]!)).length;
  const response = await fetch(`${server.base}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: issued[0]!, client_id: client.clientId }).toString(),
  });
  assert.is(response.status, 200);
  const written = await grantEvents(server, issued[0]!, since);
  assert.equal(typesOf(written), ['GrantRevoked']);
  assert.is((written[0]!.data as { reason: string }).reason, 'revoked');
});

test('RFC 7009: an access token older than the ones state keeps, still live, can be revoked by its client', async ({
  server,
  mcp,
}) => {
  const { client, access } = await rotatedGrant(server, ACCESS_WINDOW + 4);
  const response = await fetch(`${server.base}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: access[0]!, client_id: client.clientId }).toString(),
  });
  assert.is(response.status, 200);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(access[0]!, mcp)), 'revoked');
  assert.is(await reasonOf(server.services.oauth.verifier.verify(access.at(-1)!, mcp)), undefined);
  // An admin revoking the second one by its bare jti (as the panel does) is vouched for by the read model.
  const { jti } = decodeJwt(access[1]!);
  assert.is(await server.services.oauth.revokeAccessToken(String(jti), { type: 'system', id: 'test' }), true);
  assert.is(await reasonOf(server.services.oauth.verifier.verify(access[1]!, mcp)), 'revoked');
  assert.is(
    await server.services.oauth.revokeAccessToken(
      `${grantIdOfTokenId(String(jti))}.${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
      { type: 'system', id: 'test' },
    ),
    false,
  );
});

test('history stays: every rotation of a long grant is in its stream, snapshots beside them', async ({ server }) => {
  const { issued } = await rotatedGrant(server, 120);
  const events = await server.services.log.readStream(grantStream(grantIdOf(issued[0]!)!));
  assert.is(events.filter((event) => event.type === 'RefreshTokenRotated').length, 120);
  assert.ok(events.some((event) => event.type === 'GrantSnapshotted'));
});

test.run();
