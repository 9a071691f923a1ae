// A client ID metadata document holding U+0000 or a lone surrogate (its JSON may carry either, RFC 8259
// §7) is refused like any invalid document: a 400 page naming the field, no redirect, nothing stored.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { authorize, codeRequest, pkce } from './support.ts';

const CLAUDE = 'https://claude.ai/api/mcp/auth_callback';
type Context = { server: TestServer; docs: http.Server; docBase: string };
const test = suite<Context>('oauth: client ID metadata documents with unstorable text');

test.before(async (context) => {
  context.docs = http.createServer((request, response) => {
    const self = `${context.docBase}${request.url ?? '/'}`;
    const names: Record<string, string> = { '/nul.json': 'Evil\0Client', '/lone.json': 'Evil \uD800' };
    const name = names[request.url ?? ''];
    if (!name) {
      response.writeHead(404);
      return response.end();
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ client_id: self, client_name: name, redirect_uris: [CLAUDE] }));
  });
  await new Promise<void>((resolve) => context.docs.listen(0, '127.0.0.1', resolve));
  context.docBase = `http://127.0.0.1:${(context.docs.address() as AddressInfo).port}`;
  context.server = await startTestServer({ DANGEROUSLY_ALLOW_PRIVATE_CIMD: 'true' }, { database: 'embedded' });
});
test.after(async ({ server, docs }) => {
  await server.stop();
  await new Promise((resolve) => docs.close(resolve));
});

for (const path of ['/nul.json', '/lone.json']) {
  test(`a document whose client_name holds ${path === '/nul.json' ? 'U+0000' : 'a lone surrogate'} → 400 invalid_client, no redirect`, async ({
    server,
    docBase,
  }) => {
    const before = (await server.services.log.readAll({ maxCount: 100_000 })).length;
    const response = await authorize(
      server,
      codeRequest(`${docBase}${path}`, pkce().challenge, { redirect_uri: CLAUDE }),
      { accept: 'application/json' },
    );
    assert.is(response.status, 400);
    assert.is(response.headers.get('location'), null);
    assert.equal(await response.json().then((body: { code: string; detail: string }) => [body.code, body.detail]), [
      'invalid_client',
      'the client metadata document is invalid: client_name holds U+0000 or an unpaired surrogate',
    ]);
    assert.is((await server.services.log.readAll({ maxCount: 100_000 })).length, before);
  });
}

test.run();
