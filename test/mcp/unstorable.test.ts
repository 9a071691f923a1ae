// /mcp with text PostgreSQL cannot store (U+0000, unpaired surrogates) in what a client sends, over real
// HTTP on PGlite and on a PostgreSQL server: the session opens and works, its events hold U+FFFD.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionStream } from '../../domain/sessions/index.ts';
import { serverUrl } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';
import { serveWithStandInTokens } from './tools/support.ts';
import type { StandInTokens } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens };

const mcpSuite = (name: string, database: 'embedded' | 'server') => {
  const test = suite<Context>(`mcp: unstorable text from the client on ${name}`);
  test.before(async (context) => {
    context.server = await startTestServer({}, database === 'embedded' ? { database: 'embedded' } : {});
    context.tokens = await serveWithStandInTokens(context.server);
  });
  test.after(async ({ server }) => server.stop());

  test('initialize with U+0000 and a lone surrogate in clientInfo: the session opens, recorded with U+FFFD', async ({
    server,
    tokens,
  }) => {
    const resource = `${server.base}/mcp`;
    const { token } = await tokens.issue({ sub: 'nul-client', aud: resource, scopes: ['mcp:tools:read'] });
    const headers = {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(resource, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: { experimental: { ['x\0']: {} } },
          clientInfo: { name: 'Evil\0Client', version: '1\uD800' },
        },
      }),
    });
    assert.is(init.status, 200, await init.clone().text());
    await init.text();
    const sessionId = init.headers.get('mcp-session-id');
    assert.type(sessionId, 'string');
    const [opened] = await server.services.log.readStream(sessionStream(sessionId!));
    assert.is(opened?.type, 'McpSessionOpened');
    const data = opened!.data as { clientName: string; clientVersion: string; initializeParams: unknown };
    assert.equal([data.clientName, data.clientVersion], ['Evil\uFFFDClient', '1\uFFFD']);
    assert.equal((data.initializeParams as { capabilities: unknown }).capabilities, {
      experimental: { 'x\uFFFD': {} },
    });
    // The session works.
    const list = await fetch(resource, {
      method: 'POST',
      headers: { ...headers, 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    assert.is(list.status, 200);
    assert.match(await list.text(), /"tools"/);
  });

  return test;
};

mcpSuite('PGlite', 'embedded').run();
if (serverUrl()) mcpSuite('a PostgreSQL server', 'server').run();
else skipSuite('mcp: unstorable text from the client on a PostgreSQL server', 'TEST_DATABASE_URL not set', 1);
