// Client ID Metadata Documents end to end: a local document server (allowed by
// DANGEROUSLY_ALLOW_PRIVATE_CIMD, which also allows http for it), the full code flow with the URL as
// client_id and Claude's callback, and documents that must be refused.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorize, codeRequest, obtainCode, pkce, tokenRequest } from './support.ts';

const CLAUDE = 'https://claude.ai/api/mcp/auth_callback';
type Context = { server: TestServer; docs: http.Server; docBase: string; hits: Map<string, number> };
const test = suite<Context>('oauth: client ID metadata documents');

test.before(async (context) => {
  context.hits = new Map();
  context.docs = http.createServer((request, response) => {
    const path = request.url ?? '/';
    context.hits.set(path, (context.hits.get(path) ?? 0) + 1);
    const self = `${context.docBase}${path}`;
    const json = (body: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(200, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    };
    if (path === '/claude.json')
      return json(
        { client_id: self, client_name: 'Claude (CIMD)', redirect_uris: [CLAUDE], token_endpoint_auth_method: 'none' },
        { 'cache-control': 'max-age=600' },
      );
    if (path === '/nocache.json')
      return json(
        { client_id: self, client_name: 'No cache', redirect_uris: [CLAUDE] },
        { 'cache-control': 'no-store' },
      );
    if (path === '/mismatch.json')
      return json({ client_id: 'https://someone-else.example/client.json', redirect_uris: [CLAUDE] });
    if (path === '/big.json') return json({ client_id: self, redirect_uris: [CLAUDE], padding: 'x'.repeat(10_000) });
    if (path === '/secret.json')
      return json({ client_id: self, redirect_uris: [CLAUDE], token_endpoint_auth_method: 'client_secret_basic' });
    if (path === '/js.json') return json({ client_id: self, redirect_uris: ['javascript:alert(1)'] });
    if (path === '/redirect.json') {
      response.writeHead(302, { location: `${context.docBase}/claude.json` });
      return response.end();
    }
    response.writeHead(404);
    response.end();
  });
  await new Promise<void>((resolve) => context.docs.listen(0, '127.0.0.1', resolve));
  context.docBase = `http://127.0.0.1:${(context.docs.address() as AddressInfo).port}`;
  context.server = await startTestServer({ DANGEROUSLY_ALLOW_PRIVATE_CIMD: 'true' });
});
test.after(async ({ server, docs }) => {
  await server.stop();
  await new Promise((resolve) => docs.close(resolve));
});

test("full code flow with a metadata-document client_id and Claude's callback; the document is cached per max-age", async ({
  server,
  docBase,
  hits,
}) => {
  const clientId = `${docBase}/claude.json`;
  const { verifier, challenge } = pkce();
  const callback = await obtainCode(server, {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: CLAUDE,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'c1',
  });
  assert.is(callback.origin + callback.pathname, CLAUDE);
  assert.is(callback.searchParams.get('state'), 'c1');
  const exchange = await tokenRequest(server.base, {
    grant_type: 'authorization_code',
    code: callback.searchParams.get('code')!,
    redirect_uri: CLAUDE,
    code_verifier: verifier,
    client_id: clientId,
  });
  assert.is(exchange.status, 200);
  const info = await server.services.oauth.verifier.verify(String(exchange.body.access_token), `${server.base}/mcp`);
  assert.is(info.clientId, clientId);
  assert.ok(exchange.body.refresh_token);
  assert.is(hits.get('/claude.json'), 1, 'fetched once, then served from the cache');
});

test('no-store documents are fetched again each time', async ({ server, docBase, hits }) => {
  for (let i = 0; i < 2; i += 1) {
    const response = await authorize(
      server,
      codeRequest(`${docBase}/nocache.json`, pkce().challenge, { redirect_uri: CLAUDE }),
    );
    assert.is(response.status, 303);
  }
  assert.is(hits.get('/nocache.json'), 2);
});

for (const [name, path, detail] of [
  ['whose client_id differs from its URL', '/mismatch.json', /different client_id/],
  ['larger than 5 KB', '/big.json', /too large/],
  ['behind a redirect (not followed)', '/redirect.json', /answered 302/],
  ['asking for a client secret', '/secret.json', /invalid/],
  ['with a javascript: redirect URI', '/js.json', /invalid/],
  ['that does not exist', '/missing.json', /answered 404/],
] as const) {
  test(`a document ${name} → 400 page, no redirect`, async ({ server, docBase }) => {
    const response = await authorize(
      server,
      codeRequest(`${docBase}${path}`, pkce().challenge, { redirect_uri: CLAUDE }),
      { accept: 'application/json' },
    );
    assert.is(response.status, 400);
    assert.is(response.headers.get('location'), null);
    const body = (await response.json()) as { code: string; detail: string };
    assert.is(body.code, 'invalid_client');
    assert.match(body.detail, detail);
  });
}

test('a redirect URI the document does not list → 400 page', async ({ server, docBase }) => {
  const response = await authorize(
    server,
    codeRequest(`${docBase}/claude.json`, pkce().challenge, { redirect_uri: 'https://evil.example/cb' }),
  );
  assert.is(response.status, 400);
  assert.is(response.headers.get('location'), null);
});

test.run();
