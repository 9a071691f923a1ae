// Token endpoint side by side with oidc-provider 9.13, in one process and run, ES256 JWT access tokens:
// client_credentials (HTTP Basic), authorization_code + PKCE exchange, refresh_token rotation; RemoteMCP
// against oidc-provider three times: its in-memory adapter; a PostgreSQL adapter written here to its
// documented adapter interface, durable like ours; and that adapter with opaque access tokens, which
// oidc-provider stores (a JWT one it does not: its client_credentials grant then writes nothing).
// Run: node --import tsx bench/oauth/vs-oidc-provider.ts [seconds=5] [connections=10] [rounds=10]
// Each row's seconds are split into `rounds` short slices, the servers taking turns (the first of a round
// rotates), so a machine whose speed drifts slows all rows alike; a ratio is the median over the rounds of
// RemoteMCP's requests/s to the other server's in the same round.
// Codes are made beforehand (login and consent are not what is measured): ours through the application
// service, oidc-provider's through its Grant and AuthorizationCode models.
// (RemoteMCP on embedded PGlite unless TEST_DATABASE_URL is set; the durable oidc-provider row needs it:
// it gets a database of its own on that server, dropped afterwards. Warm up first: a cold process is slow for its first ~15k requests.)
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import pg from 'pg';
import { MCP_READ } from '../../domain/scopes.ts';
import { createServerDatabase, serverUrl } from '../../test/support/databases.ts';
import { startTestServer } from '../../test/support/server.ts';
import { percentile } from '../mcp/load.ts';
import { postForm } from './form-post.ts';
import { approvedCode, REDIRECT, registerPublicClient } from './setup.ts';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 10);
const WARM_UP_SECONDS = 2;

/** True while codes are made outside the measured time: the adapter's counts leave that work out. */
let preparing = false;

/** oidc-provider's documented adapter interface on one table: (model, id) key, jsonb payload, expiry. */
const postgresAdapter = async (pool: pg.Pool, table = 'oidc_model') => {
  await pool.query(`CREATE TABLE ${table} (
    model text NOT NULL,
    id text NOT NULL,
    payload jsonb NOT NULL,
    grant_id text,
    user_code text,
    uid text,
    expires_at timestamptz,
    consumed_at timestamptz,
    PRIMARY KEY (model, id))`);
  await pool.query(`CREATE INDEX ${table}_grant ON ${table} (grant_id)`);
  await pool.query(`CREATE INDEX ${table}_user_code ON ${table} (model, user_code)`);
  await pool.query(`CREATE INDEX ${table}_uid ON ${table} (model, uid)`);
  const calls = { reads: 0, writes: 0 };
  const row = (result: pg.QueryResult<{ payload: AdapterPayload; consumed: boolean }>) => {
    const found = result.rows[0];
    return found ? { ...found.payload, ...(found.consumed ? { consumed: true } : {}) } : undefined;
  };
  const select = `SELECT payload, consumed_at IS NOT NULL AS consumed FROM ${table}
    WHERE model = $1 AND (expires_at IS NULL OR expires_at > now()) AND`;
  class PostgresAdapter implements Adapter {
    constructor(private readonly model: string) {}
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      if (!preparing) calls.writes += 1;
      await pool.query(
        `INSERT INTO ${table} (model, id, payload, grant_id, user_code, uid, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 second')
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`,
        [
          this.model,
          id,
          payload,
          payload.grantId ?? null,
          payload.userCode ?? null,
          payload.uid ?? null,
          expiresIn ?? null,
        ],
      );
    }
    async find(id: string) {
      if (!preparing) calls.reads += 1;
      return row(await pool.query(`${select} id = $2`, [this.model, id]));
    }
    async findByUserCode(userCode: string) {
      if (!preparing) calls.reads += 1;
      return row(await pool.query(`${select} user_code = $2`, [this.model, userCode]));
    }
    async findByUid(uid: string) {
      if (!preparing) calls.reads += 1;
      return row(await pool.query(`${select} uid = $2`, [this.model, uid]));
    }
    async consume(id: string) {
      if (!preparing) calls.writes += 1;
      await pool.query(`UPDATE ${table} SET consumed_at = now() WHERE model = $1 AND id = $2`, [this.model, id]);
    }
    async destroy(id: string) {
      if (!preparing) calls.writes += 1;
      await pool.query(`DELETE FROM ${table} WHERE model = $1 AND id = $2`, [this.model, id]);
    }
    async revokeByGrantId(grantId: string) {
      if (!preparing) calls.writes += 1;
      await pool.query(`DELETE FROM ${table} WHERE grant_id = $1`, [grantId]);
    }
  }
  return { factory: (model: string) => new PostgresAdapter(model), calls };
};

const listen = (handler: http.RequestListener) =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });

const SECRET = 'bench-secret-0123456789';
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** A code and the PKCE verifier that redeems it. */
type Code = { code: string; verifier: string };

/**
 * oidc-provider on a loopback port: a confidential client_credentials client and a public code + refresh
 * client, ES256 JWT access tokens. Codes are made through its models (Grant, AuthorizationCode), the way
 * its interaction would end, since login and consent are not what is measured.
 */
const startProvider = async (
  adapter: Configuration['adapter'] | undefined,
  accessTokenFormat: 'jwt' | 'opaque' = 'jwt',
) => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const server = await listen(() => undefined);
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resource = `${issuer}/mcp`;
  // The only key is ES256; a client's default ID token algorithm (RS256) would be refused as metadata.
  const es256 = { id_token_signed_response_alg: 'ES256' } as const;
  const provider = new Provider(issuer, {
    ...(adapter ? { adapter } : {}),
    clients: [
      {
        client_id: 'bench',
        client_secret: SECRET,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: MCP_READ,
        ...es256,
      },
      {
        client_id: 'public',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
        scope: MCP_READ,
        ...es256,
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' }] },
    scopes: [MCP_READ],
    // Like ours: every code exchange gets a refresh token, and every refresh rotates it (RFC 9700 §4.14.2).
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 600,
      ClientCredentials: 600,
      AuthorizationCode: 60,
      Grant: 30 * 86_400,
      RefreshToken: 30 * 86_400,
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 8707: the resource decides the access token's format; JWT (RFC 9068) signed ES256, like ours.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () =>
          accessTokenFormat === 'jwt'
            ? { scope: MCP_READ, accessTokenFormat, jwt: { sign: { alg: 'ES256' } } }
            : { scope: MCP_READ, accessTokenFormat },
      },
    },
  });
  server.removeAllListeners('request');
  server.on('request', provider.callback());
  const client = (await provider.Client.find('public'))!;
  const code = async (): Promise<Code> => {
    const grant = new provider.Grant({ accountId: 'bench-user', clientId: 'public' });
    grant.addResourceScope(resource, MCP_READ);
    const grantId = await grant.save();
    const { verifier, challenge } = pkce();
    const value = await new provider.AuthorizationCode({
      client,
      accountId: 'bench-user',
      grantId,
      gty: 'authorization_code',
      redirectUri: REDIRECT,
      scope: MCP_READ,
      resource,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      authTime: Math.floor(Date.now() / 1_000),
    }).save();
    return { code: value, verifier };
  };
  return {
    tokenUrl: `${issuer}/token`,
    machine: basic('bench', SECRET),
    publicClientId: 'public',
    code,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

type Target = {
  name: string;
  tokenUrl: string;
  /** HTTP Basic for the client_credentials client. */
  machine: string;
  publicClientId: string;
  code(): Promise<Code>;
  /** Issues opaque access tokens (the stored row), not JWTs. */
  opaque?: boolean;
};

type Reply = { ok: boolean; body: Record<string, unknown> };

/** A token request; ok only for a 200 that carries an access token of the target's format. */
const tokenRequest = async (
  agent: http.Agent,
  target: Target,
  form: Record<string, string>,
  authorization?: string,
): Promise<Reply> => {
  const { status, body } = await postForm(agent, new URL(target.tokenUrl), form, authorization);
  const token = body.access_token;
  const shaped = typeof token === 'string' && (target.opaque ? token.length >= 32 : token.split('.').length === 3);
  return { ok: status === 200 && shaped, body };
};

/** One scenario on one target: `request(worker)` sends one token request; false ends that worker's slice. */
type Load = { request(worker: number): Promise<boolean | 'done'>; begin?(): Promise<void> };

const clientCredentials = (agent: http.Agent, target: Target): Load => ({
  request: async () =>
    (await tokenRequest(agent, target, { grant_type: 'client_credentials', scope: MCP_READ }, target.machine)).ok,
});

/**
 * Redeems codes made before each slice, outside its time: CODES_PER_SLICE (the slice ends early when they
 * are spent). Made per slice since oidc-provider's in-memory adapter is an LRU of 1,000 entries: codes
 * made for the whole run would be evicted before use.
 */
const CODES_PER_SLICE = 150;
const makeCodes = async (target: Target, count: number) => {
  const codes: Code[] = [];
  preparing = true;
  while (codes.length < count)
    codes.push(
      ...(await Promise.all(Array.from({ length: Math.min(connections, count - codes.length) }, target.code))),
    );
  preparing = false;
  return codes;
};
const exchange = (agent: http.Agent, target: Target, code: Code) =>
  tokenRequest(agent, target, {
    grant_type: 'authorization_code',
    code: code.code,
    code_verifier: code.verifier,
    redirect_uri: REDIRECT,
    client_id: target.publicClientId,
  });
const authorizationCode = (agent: http.Agent, target: Target): Load => {
  let codes: Code[] = [];
  return {
    begin: async () => {
      codes = await makeCodes(target, CODES_PER_SLICE);
    },
    request: async () => {
      const code = codes.pop();
      return code ? (await exchange(agent, target, code)).ok : 'done';
    },
  };
};

/** Each connection rotates the refresh token of a grant of its own, one after the other. */
const refreshRotation = async (agent: http.Agent, target: Target): Promise<Load> => {
  const tokens = await Promise.all(
    (await makeCodes(target, connections)).map(async (code) =>
      String((await exchange(agent, target, code)).body.refresh_token),
    ),
  );
  return {
    request: async (worker) => {
      const reply = await tokenRequest(agent, target, {
        grant_type: 'refresh_token',
        refresh_token: tokens[worker]!,
        client_id: target.publicClientId,
      });
      if (typeof reply.body.refresh_token === 'string') tokens[worker] = reply.body.refresh_token;
      return reply.ok && tokens[worker] === reply.body.refresh_token;
    },
  };
};

/** `connections` closed loops for `slice` seconds (or until the load is spent); latencies (ms) appended. */
const drive = async (load: Load, slice: number, latencies: number[]) => {
  let requests = 0;
  let errors = 0;
  await load.begin?.();
  const started = performance.now();
  const until = started + slice * 1_000;
  await Promise.all(
    Array.from({ length: connections }, async (_, worker) => {
      while (performance.now() < until) {
        const t = performance.now();
        const ok = await load.request(worker);
        if (ok === 'done') return;
        if (!ok) errors += 1;
        latencies.push(performance.now() - t);
        requests += 1;
      }
    }),
  );
  return { requests, errors, seconds: (performance.now() - started) / 1_000 };
};

// Rate limits off: the bench measures throughput, one client on many connections.
const ours = await startTestServer({ LOG_LEVEL: 'silent', OAUTH_RATE_LIMIT_PER_MINUTE: '1000000000' });
const { oauth, users } = ours.services;
const machine = await oauth.createMachineClient(
  { name: 'bench', userEmail: 'bench-bot@example.com', scopes: [MCP_READ] },
  { type: 'system', id: 'bench' },
);
const publicClient = await registerPublicClient(oauth, 'bench-public');
const admin = (await users.byEmail(ours.adminEmail))!;
const inMemory = await startProvider(undefined);
const durableDatabase = serverUrl() ? await createServerDatabase() : undefined;
const pool = durableDatabase ? new pg.Pool({ connectionString: durableDatabase.url, max: connections }) : undefined;
const adapter = pool ? await postgresAdapter(pool) : undefined;
const durable = adapter ? await startProvider(adapter.factory) : undefined;
// A JWT access token is never stored by oidc-provider (a client_credentials grant writes nothing); with
// opaque ones it stores every token it issues, as we store every grant: the durable-to-durable comparison.
const storedAdapter = pool ? await postgresAdapter(pool, 'oidc_model_opaque') : undefined;
const stored = storedAdapter ? await startProvider(storedAdapter.factory, 'opaque') : undefined;

const targets: Target[] = [
  {
    name: `remotemcp (${ours.services.db.embedded ? 'embedded PGlite' : 'PostgreSQL'})`,
    tokenUrl: `${ours.base}/oauth/token`,
    machine: basic(machine.client.clientId, machine.clientSecret!),
    publicClientId: publicClient.clientId,
    code: () => approvedCode(oauth, publicClient.clientId, admin.id),
  },
  { name: 'oidc-provider (in memory)', ...inMemory },
  ...(durable ? [{ name: 'oidc-provider (PostgreSQL adapter)', ...durable }] : []),
  ...(stored
    ? [{ name: 'oidc-provider (PostgreSQL adapter, opaque access tokens: stored)', ...stored, opaque: true }]
    : []),
];

const scenarios: { name: string; load(agent: http.Agent, target: Target): Load | Promise<Load> }[] = [
  { name: 'client_credentials (HTTP Basic)', load: clientCredentials },
  { name: `authorization_code + PKCE (${CODES_PER_SLICE} codes per slice at most)`, load: authorizationCode },
  { name: 'refresh_token rotation (public client, one grant per connection)', load: refreshRotation },
];
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\nToken endpoint, ES256 JWT access tokens, ${connections} connections, ${seconds}s per row in ${rounds} slices taking turns after a ${WARM_UP_SECONDS}s warm-up`,
);
out('| grant | server | requests/s | p50 ms | p99 ms | errors | remotemcp ÷ this (median of rounds) |');
out('|---|---|---:|---:|---:|---:|---:|');
const adapterCalls: string[] = [];
for (const scenario of scenarios) {
  const runs = await Promise.all(
    targets.map(async (target) => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
      return {
        target,
        agent,
        load: await scenario.load(agent, target),
        latencies: [] as number[],
        rates: [] as number[],
        requests: 0,
        seconds: 0,
        errors: 0,
      };
    }),
  );
  for (const run of runs) await drive(run.load, WARM_UP_SECONDS, []);
  const adapterBefore = adapter ? { ...adapter.calls } : undefined;
  const storedBefore = storedAdapter ? { ...storedAdapter.calls } : undefined;
  const slice = seconds / rounds;
  for (let round = 0; round < rounds; round += 1) {
    for (let turn = 0; turn < runs.length; turn += 1) {
      const run = runs[(round + turn) % runs.length]!;
      const result = await drive(run.load, slice, run.latencies);
      run.rates.push(result.requests / result.seconds);
      run.requests += result.requests;
      run.seconds += result.seconds;
      run.errors += result.errors;
    }
  }
  const remotemcp = runs[0]!;
  for (const run of runs) {
    run.agent.destroy();
    run.latencies.sort((a, b) => a - b);
    const ratio = median(remotemcp.rates.map((rate, round) => rate / run.rates[round]!));
    out(
      `| ${scenario.name.split(' ')[0]} | ${run.target.name} | ${Math.round(run.requests / run.seconds)} | ${percentile(run.latencies, 50).toFixed(2)} | ${percentile(run.latencies, 99).toFixed(2)} | ${run.errors} | ${run === remotemcp || !Number.isFinite(ratio) ? '' : `${ratio.toFixed(2)}×`} |`,
    );
  }
  // Per measured request of each durable row (the adapters count nothing while codes are prepared).
  for (const [name, counted, before] of [
    ['JWT', adapter, adapterBefore],
    ['opaque', storedAdapter, storedBefore],
  ] as const) {
    const run = runs.find(
      (each) =>
        each.target.name.startsWith('oidc-provider (PostgreSQL') &&
        each.target.name.includes('opaque') === (name === 'opaque'),
    );
    if (!counted || !before || !run?.requests) continue;
    adapterCalls.push(
      `${scenario.name}, ${name} access tokens: ${((counted.calls.reads - before.reads) / run.requests).toFixed(1)} reads, ${((counted.calls.writes - before.writes) / run.requests).toFixed(1)} writes`,
    );
  }
}
out('');
for (const scenario of scenarios) out(`- ${scenario.name}`);
if (adapterCalls.length) {
  out("\noidc-provider's PostgreSQL adapter per measured request:");
  for (const line of adapterCalls) out(`- ${line}`);
}
if (!durable) out('\n(TEST_DATABASE_URL not set: no durable oidc-provider row)');
out('Targets: ≥ 1.0× the PostgreSQL-backed oidc-provider, ≥ 0.5× the in-memory one.');
out('(With JWT access tokens that oidc-provider stores no client_credentials token; the opaque row stores each.)');

await inMemory.close();
await durable?.close();
await stored?.close();
await pool?.end();
await durableDatabase?.drop();
await ours.stop();
process.exit(0);
