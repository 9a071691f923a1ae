// Token endpoint side by side with oidc-provider 9.13, in one process and run: client_credentials with
// HTTP Basic, ES256 JWT access tokens, on RemoteMCP and on oidc-provider twice (its in-memory adapter, and
// a PostgreSQL adapter written here to its documented adapter interface, durable like ours).
// Run: node --import tsx bench/oauth/vs-oidc-provider.ts [seconds=5] [connections=10] [rounds=10]
// Each row's seconds are split into `rounds` short slices, the servers taking turns (the first of a round
// rotates), so a machine whose speed drifts slows all rows alike; a ratio is the median over the rounds of
// RemoteMCP's requests to the other server's in the same round.
// (RemoteMCP on embedded PGlite unless TEST_DATABASE_URL is set; the durable oidc-provider row needs it:
// it gets a database of its own on that server, dropped afterwards. Warm-up before measuring: NOTES.md.)
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';
import pg from 'pg';
import { MCP_READ } from '../../domain/scopes.ts';
import { createServerDatabase, serverUrl } from '../../test/support/databases.ts';
import { startTestServer } from '../../test/support/server.ts';
import { percentile } from '../mcp/load.ts';

const seconds = Number(process.argv[2] ?? 5);
const connections = Number(process.argv[3] ?? 10);
const rounds = Number(process.argv[4] ?? 10);
const WARM_UP_SECONDS = 2;

/** oidc-provider's documented adapter interface on one table: (model, id) key, jsonb payload, expiry. */
const postgresAdapter = async (pool: pg.Pool) => {
  await pool.query(`CREATE TABLE oidc_model (
    model text NOT NULL,
    id text NOT NULL,
    payload jsonb NOT NULL,
    grant_id text,
    user_code text,
    uid text,
    expires_at timestamptz,
    consumed_at timestamptz,
    PRIMARY KEY (model, id))`);
  await pool.query('CREATE INDEX oidc_model_grant ON oidc_model (grant_id)');
  await pool.query('CREATE INDEX oidc_model_user_code ON oidc_model (model, user_code)');
  await pool.query('CREATE INDEX oidc_model_uid ON oidc_model (model, uid)');
  const calls = { reads: 0, writes: 0 };
  const row = (result: pg.QueryResult<{ payload: AdapterPayload; consumed: boolean }>) => {
    const found = result.rows[0];
    return found ? { ...found.payload, ...(found.consumed ? { consumed: true } : {}) } : undefined;
  };
  const select = `SELECT payload, consumed_at IS NOT NULL AS consumed FROM oidc_model
    WHERE model = $1 AND (expires_at IS NULL OR expires_at > now()) AND`;
  class PostgresAdapter implements Adapter {
    constructor(private readonly model: string) {}
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      calls.writes += 1;
      await pool.query(
        `INSERT INTO oidc_model (model, id, payload, grant_id, user_code, uid, expires_at)
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
      calls.reads += 1;
      return row(await pool.query(`${select} id = $2`, [this.model, id]));
    }
    async findByUserCode(userCode: string) {
      calls.reads += 1;
      return row(await pool.query(`${select} user_code = $2`, [this.model, userCode]));
    }
    async findByUid(uid: string) {
      calls.reads += 1;
      return row(await pool.query(`${select} uid = $2`, [this.model, uid]));
    }
    async consume(id: string) {
      calls.writes += 1;
      await pool.query('UPDATE oidc_model SET consumed_at = now() WHERE model = $1 AND id = $2', [this.model, id]);
    }
    async destroy(id: string) {
      calls.writes += 1;
      await pool.query('DELETE FROM oidc_model WHERE model = $1 AND id = $2', [this.model, id]);
    }
    async revokeByGrantId(grantId: string) {
      calls.writes += 1;
      await pool.query('DELETE FROM oidc_model WHERE grant_id = $1', [grantId]);
    }
  }
  return { factory: (model: string) => new PostgresAdapter(model), calls };
};

const listen = (handler: http.RequestListener) =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });

/** oidc-provider on a loopback port: one confidential client_credentials client, ES256 JWT access tokens. */
const startProvider = async (adapter: Configuration['adapter'] | undefined) => {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const server = await listen(() => undefined);
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const resource = `${issuer}/mcp`;
  const provider = new Provider(issuer, {
    ...(adapter ? { adapter } : {}),
    clients: [
      {
        client_id: 'bench',
        client_secret: 'bench-secret-0123456789',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: MCP_READ,
        // The only key is ES256; the client's default (RS256) would be refused as metadata.
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig', kid: 'bench' }] },
    scopes: [MCP_READ],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 8707: the resource decides the access token's format; JWT (RFC 9068) signed ES256, like ours.
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({ scope: MCP_READ, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } }),
      },
    },
  });
  server.removeAllListeners('request');
  server.on('request', provider.callback());
  return {
    tokenUrl: `${issuer}/token`,
    authorization: `Basic ${Buffer.from('bench:bench-secret-0123456789').toString('base64')}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

type Target = { name: string; tokenUrl: string; authorization: string };

const BODY = new URLSearchParams({ grant_type: 'client_credentials', scope: MCP_READ }).toString();

const tokenRequest = (agent: http.Agent, target: Target): Promise<boolean> =>
  new Promise((resolve, reject) => {
    const url = new URL(target.tokenUrl);
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: target.authorization,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(BODY),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(res.statusCode === 200 && text.includes('"access_token":"ey')));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });

/** `connections` closed loops of token requests for `seconds`; appends each latency (ms) to `latencies`. */
const drive = async (agent: http.Agent, target: Target, slice: number, latencies: number[]) => {
  let requests = 0;
  let errors = 0;
  const until = performance.now() + slice * 1_000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        if (!(await tokenRequest(agent, target))) errors += 1;
        latencies.push(performance.now() - started);
        requests += 1;
      }
    }),
  );
  return { requests, errors };
};

// Rate limits off: the bench measures throughput, one client on many connections.
const ours = await startTestServer({ LOG_LEVEL: 'silent', OAUTH_RATE_LIMIT_PER_MINUTE: '1000000000' });
const created = await ours.services.oauth.createMachineClient(
  { name: 'bench', userEmail: 'bench-bot@example.com', scopes: [MCP_READ] },
  { type: 'system', id: 'bench' },
);
const inMemory = await startProvider(undefined);
const durableDatabase = serverUrl() ? await createServerDatabase() : undefined;
const pool = durableDatabase ? new pg.Pool({ connectionString: durableDatabase.url, max: connections }) : undefined;
const adapter = pool ? await postgresAdapter(pool) : undefined;
const durable = adapter ? await startProvider(adapter.factory) : undefined;

const targets: Target[] = [
  {
    name: `remotemcp (${ours.services.db.embedded ? 'embedded PGlite' : 'PostgreSQL'})`,
    tokenUrl: `${ours.base}/oauth/token`,
    authorization: `Basic ${Buffer.from(`${created.client.clientId}:${created.clientSecret!}`).toString('base64')}`,
  },
  { name: 'oidc-provider (in memory)', ...inMemory },
  ...(durable ? [{ name: 'oidc-provider (PostgreSQL adapter)', ...durable }] : []),
];
const runs = targets.map((target) => ({
  target,
  agent: new http.Agent({ keepAlive: true, maxSockets: connections }),
  latencies: [] as number[],
  requests: [] as number[],
  errors: 0,
}));
for (const run of runs) await drive(run.agent, run.target, WARM_UP_SECONDS, []);
const adapterBefore = adapter ? { ...adapter.calls } : undefined;
const slice = seconds / rounds;
for (let round = 0; round < rounds; round += 1) {
  for (let turn = 0; turn < runs.length; turn += 1) {
    const run = runs[(round + turn) % runs.length]!;
    const result = await drive(run.agent, run.target, slice, run.latencies);
    run.requests.push(result.requests);
    run.errors += result.errors;
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const remotemcp = runs[0]!;
const out = (line: string) => process.stdout.write(`${line}\n`);
out(
  `\nclient_credentials (HTTP Basic, ES256 JWT access token), ${connections} connections, ${seconds}s per row in ${rounds} slices taking turns after ${WARM_UP_SECONDS}s warm-up`,
);
out('| server | requests/s | p50 ms | p99 ms | errors | remotemcp ÷ this (median of rounds) |');
out('|---|---:|---:|---:|---:|---:|');
for (const run of runs) {
  run.agent.destroy();
  run.latencies.sort((a, b) => a - b);
  const total = run.requests.reduce((sum, n) => sum + n, 0);
  const ratio = median(remotemcp.requests.map((n, round) => n / run.requests[round]!));
  out(
    `| ${run.target.name} | ${Math.round(total / seconds)} | ${percentile(run.latencies, 50).toFixed(2)} | ${percentile(run.latencies, 99).toFixed(2)} | ${run.errors} | ${run === remotemcp ? '' : `${ratio.toFixed(2)}×`} |`,
  );
}
if (adapter && adapterBefore)
  out(
    `\noidc-provider's PostgreSQL adapter during the measured slices: ${adapter.calls.reads - adapterBefore.reads} reads, ${adapter.calls.writes - adapterBefore.writes} writes`,
  );
if (!durable) out('\n(TEST_DATABASE_URL not set: no durable oidc-provider row)');
out('Targets: ≥ 1.0× the PostgreSQL-backed oidc-provider, ≥ 0.5× the in-memory one.');

await inMemory.close();
await durable?.close();
await pool?.end();
await durableDatabase?.drop();
await ours.stop();
process.exit(0);
