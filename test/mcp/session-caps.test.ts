// Open sessions per user and per token: beyond a cap `initialize` is 429 with Retry-After and writes
// nothing; closed and expired sessions do not count; the cap holds across instances on one database.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionCaps } from '../../mcp/session-caps.ts';
import { anyDatabase, serverUrl } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';
import { initialize, postRpc, sessionHeaders } from './raw.ts';
import { StandInTokens, startInstancePair, useStandIns, type InstancePair } from './support.ts';

type Context = { server: TestServer; tokens: StandInTokens };

const start = async (context: Context, env: Record<string, string>) => {
  context.server = await startTestServer(env);
  context.tokens = await StandInTokens.create();
  await useStandIns(context.server, context.tokens);
};
const tokenFor = async (context: Context, sub: string) =>
  (await context.tokens.issue({ sub, aud: `${context.server.base}/mcp` })).token;
// Straight from the events table: readAll stops below the oldest running transaction of the whole
// PostgreSQL server, which other test databases on it may hold open for a while.
const opened = async (server: TestServer, userId: string) =>
  (
    await server.services.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM events WHERE event_type = 'McpSessionOpened' AND data ->> 'userId' = $1`,
      [userId],
    )
  ).rows[0]!.n;
const refusal = (message: string) => ({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
const PER_TOKEN = 'Too Many Requests: this access token has 2 open MCP sessions; end one (DELETE) or retry later';
const PER_USER = 'Too Many Requests: this user has 3 open MCP sessions; end one (DELETE) or retry later';

/** initialize must succeed: returns the session id. */
const open = async (base: string, token: string): Promise<string> => {
  const response = await initialize(base, token);
  assert.is(response.status, 200, await response.clone().text());
  await response.text();
  return response.headers.get('mcp-session-id')!;
};

const caps = suite<Context>('mcp: sessions per user and per token');
caps.before((context) => start(context, { MCP_MAX_SESSIONS_PER_USER: '3', MCP_MAX_SESSIONS_PER_TOKEN: '2' }));
caps.after(({ server }) => server.stop());

caps(
  'beyond the token cap, then the user cap → 429 with Retry-After, nothing written; others unaffected',
  async (context) => {
    const { base } = context.server;
    const first = await tokenFor(context, 'user-a');
    const sessions = [await open(base, first), await open(base, first)];

    const byToken = await initialize(base, first);
    assert.is(byToken.status, 429);
    // The oldest counted session expires after EVENT_RETENTION (24 h by default).
    const wait = Number(byToken.headers.get('retry-after'));
    assert.ok(wait > 86_000 && wait <= 86_400, `Retry-After ${wait}`);
    assert.is(byToken.headers.get('mcp-session-id'), null);
    assert.equal(await byToken.json(), refusal(PER_TOKEN));
    assert.is(await opened(context.server, 'user-a'), 2);

    // Another token of the same user: one more, up to the user's cap of 3.
    sessions.push(await open(base, await tokenFor(context, 'user-a')));
    const third = await tokenFor(context, 'user-a');
    const byUser = await initialize(base, third);
    assert.is(byUser.status, 429);
    assert.ok(Number(byUser.headers.get('retry-after')) > 86_000);
    assert.equal(await byUser.json(), refusal(PER_USER));
    assert.is(await opened(context.server, 'user-a'), 3);

    // Another user is not affected.
    await open(base, await tokenFor(context, 'user-b'));

    // A closed session stops counting at once (before the read model shows it).
    const deleted = await fetch(`${base}/mcp`, { method: 'DELETE', headers: sessionHeaders(first, sessions[0]!) });
    assert.is(deleted.status, 200);
    await open(base, third);
    assert.is(await opened(context.server, 'user-a'), 4);
  },
);

caps('concurrent initializes of one user on one instance cannot pass the cap together', async (context) => {
  const { base } = context.server;
  const tokens = await Promise.all([1, 2, 3, 4, 5, 6].map(() => tokenFor(context, 'user-c')));
  const statuses = await Promise.all(
    tokens.map(async (token) => {
      const response = await initialize(base, token);
      await response.text();
      return response.status;
    }),
  );
  assert.equal(statuses.filter((status) => status === 200).length, 3, statuses.join(','));
  assert.equal(statuses.filter((status) => status === 429).length, 3);
  assert.is(await opened(context.server, 'user-c'), 3);
});

caps(
  'initialize params over 16 KiB (kept for good in the opening event) → 400 invalid params, no session',
  async (context) => {
    const { base } = context.server;
    const token = await tokenFor(context, 'user-d');
    const response = await postRpc(
      `${base}/mcp`,
      {
        jsonrpc: '2.0',
        id: 0,
        method: 'initialize',
        params: {
          protocolVersion: '2025-11-25',
          capabilities: { experimental: { padding: { text: 'x'.repeat(20_000) } } },
          clientInfo: { name: 'big', version: '1' },
        },
      },
      { authorization: `Bearer ${token}` },
    );
    assert.is(response.status, 400);
    assert.is(response.headers.get('mcp-session-id'), null);
    assert.equal(await response.json(), {
      jsonrpc: '2.0',
      error: { code: -32602, message: 'Invalid params: initialize params exceed 16384 bytes' },
      id: null,
    });
    assert.is(await opened(context.server, 'user-d'), 0);
  },
);

const expiry = suite<Context>('mcp: expired sessions do not count');
expiry.before((context) => start(context, { MCP_MAX_SESSIONS_PER_USER: '1', EVENT_RETENTION: '2s' }));
expiry.after(({ server }) => server.stop());

expiry('a session past its expiry frees its slot', async (context) => {
  const { base } = context.server;
  const token = await tokenFor(context, 'user-a');
  await open(base, token);
  const refused = await initialize(base, token);
  assert.is(refused.status, 429);
  const wait = Number(refused.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 2, `Retry-After ${wait}`);
  await refused.text();
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  await open(base, token);
});

const upgrade = suite('mcp: session caps on a read model built before token_id');

upgrade(
  'during the blue/green rebuild after an upgrade the old table still answers: users counted, tokens not',
  async () => {
    const database = await anyDatabase();
    try {
      // mcp_sessions as version 1 of the projection created it (no token_id column).
      await database.db.query(`CREATE TABLE mcp_sessions (
      id text PRIMARY KEY, user_id text NOT NULL, client_id text NOT NULL, protocol_version text NOT NULL,
      client_name text NOT NULL, client_version text NOT NULL, status text NOT NULL,
      opened_at timestamptz NOT NULL, expires_at timestamptz NOT NULL, closed_at timestamptz, close_reason text)`);
      const now = new Date();
      const later = new Date(now.getTime() + 60_000);
      for (const [id, status, expires] of [
        ['s1', 'open', later],
        ['s2', 'open', later],
        ['s3', 'closed', later],
        ['s4', 'open', now],
      ] as const)
        await database.db.query(
          `INSERT INTO mcp_sessions VALUES ($1, 'user-a', 'c', '2025-11-25', 'n', 'v', $2, $3, $4, NULL, NULL)`,
          [id, status, now, expires],
        );
      const caller = { userId: 'user-a', tokenId: 'token-1' };
      const session = { sessionId: 's5', expiresAt: later };
      let appended = 0;
      const append = async () => void (appended += 1);
      // Two open and unexpired sessions count; the closed and the expired one do not.
      assert.equal(
        await new SessionCaps(database.db, { perUser: 2, perToken: 1 }).admit(caller, session, append, now),
        {
          cap: 'user',
          limit: 2,
          retryAfterSeconds: 60,
        },
      );
      assert.is(appended, 0);
      assert.is(
        await new SessionCaps(database.db, { perUser: 3, perToken: 1 }).admit(caller, session, append, now),
        undefined,
      );
      assert.is(appended, 1);
    } finally {
      await database.dispose();
    }
  },
);
upgrade.run();

if (!serverUrl()) {
  skipSuite('mcp: session caps across instances', 'TEST_DATABASE_URL not set', 1);
} else {
  const instances = suite<InstancePair>('mcp: session caps across instances');
  instances.before(async (context) => {
    Object.assign(context, await startInstancePair({ MCP_MAX_SESSIONS_PER_USER: '2' }));
  });
  instances.after(async (context) => context.stop());

  instances('sessions opened on A count on B (the read model), and the other way round', async (context) => {
    const token = async () => (await context.tokens.issue({ sub: 'user-a', aud: `${context.a.base}/mcp` })).token;
    await open(context.a.url, await token());
    await open(context.b.url, await token());
    // Precision: another instance's session counts once the projection has it (one projection round).
    const visible = async () =>
      (
        await context.a.services.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM mcp_sessions WHERE user_id = 'user-a' AND status = 'open'`,
        )
      ).rows[0]!.n;
    for (let waited = 0; waited < 10_000 && (await visible()) < 2; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(await visible(), 2);
    for (const server of [context.a, context.b]) {
      const refused = await initialize(server.url, await token());
      assert.is(refused.status, 429);
      assert.equal(
        await refused.json(),
        refusal('Too Many Requests: this user has 2 open MCP sessions; end one (DELETE) or retry later'),
      );
    }
    assert.is(await opened(context.a, 'user-a'), 2);
  });
  instances.run();
}

caps.run();
expiry.run();
