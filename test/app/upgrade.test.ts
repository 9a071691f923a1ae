// Upgrades keep data: an `events export` made by the release before this one (test/fixtures/pre-wave)
// imported into an empty store starts on today's code with its users, clients, grants and tokens.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { importEvents } from '../../app/backup.ts';
import { openDatabase } from '../../db/database.ts';
import { migrate } from '../../db/migrate.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { callTool, openSession } from '../mcp/raw.ts';
import { tokenRequest } from '../http/oauth/support.ts';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { freePort, startTestServer, type TestServer } from '../support/server.ts';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'pre-wave');
type Secrets = {
  publicUrl: string;
  users: Record<string, string[]>;
  alice: { clientId: string; accessToken: string; refreshToken: string };
  anonymousMachine: { clientId: string; secret: string; accessToken: string };
};
const secrets = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'secrets.json'), 'utf8')) as Secrets;
const events = fs.readFileSync(path.join(FIXTURE, 'events.ndjson'), 'utf8');

const test = suite<{ server: TestServer; dataDir: string; drop?: (() => Promise<void>) | undefined }>(
  'app: upgrade from the previous release',
);

test.before(async (context) => {
  const database = serverUrl() ? await createServerDatabase() : undefined;
  context.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-upgrade-'));
  const db = database
    ? await openDatabase({ kind: 'server', url: database.url })
    : await openDatabase({ kind: 'embedded', dataDir: context.dataDir });
  await migrate(db);
  const log = new PostgresEventLog(db);
  const imported = await importEvents(log, fs.createReadStream(path.join(FIXTURE, 'events.ndjson')));
  assert.is(imported.imported, events.trim().split('\n').length);
  await log.close();
  await db.close();
  // The issuer and audience of the old tokens is the old PUBLIC_URL; the port it names need not be ours.
  context.server = await startTestServer(
    {
      PORT: String(await freePort()),
      PUBLIC_URL: secrets.publicUrl,
      ACCESS_TOKEN_TTL: '3650d',
      REFRESH_TOKEN_TTL: '3650d',
      ...(database ? {} : { DATA_DIR: context.dataDir }),
    },
    database ? { database } : { database: 'embedded' },
  );
  context.drop = database?.drop;
  await context.server.services.projections.waitFor(await context.server.services.log.headPosition(), {
    timeoutMs: 30_000,
  });
});

test.after(async ({ server, dataDir, drop }) => {
  await server?.stop();
  await drop?.();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const listen = (server: TestServer) => server.url;

test('users keep their passwords, roles and status', async ({ server }) => {
  const [adminEmail, adminPassword] = secrets.users.admin!;
  const [aliceEmail, alicePassword] = secrets.users.alice!;
  const admin = await server.services.users.authenticate(adminEmail!, adminPassword!);
  assert.ok(admin?.roles.includes('admin'));
  assert.is((await server.services.users.authenticate(aliceEmail!, alicePassword!))?.email, aliceEmail);
  assert.is((await server.services.users.byEmail(secrets.users.bob![0]!))?.status, 'disabled');
});

test("alice's access token still calls tools, and her memory is there", async ({ server }) => {
  const sessionId = await openSession(listen(server), secrets.alice.accessToken);
  const response = await callTool(listen(server), secrets.alice.accessToken, sessionId, 1, 'memory_search', {
    query: 'upgrade',
  });
  assert.is(response.status, 200);
  const text = await response.text();
  assert.ok(text.includes('kept across the upgrade'), text);
});

test("alice's refresh token still refreshes", async ({ server }) => {
  const refreshed = await tokenRequest(listen(server), {
    grant_type: 'refresh_token',
    refresh_token: secrets.alice.refreshToken,
    client_id: secrets.alice.clientId,
  });
  assert.is(refreshed.status, 200, JSON.stringify(refreshed.body));
  assert.type(refreshed.body.access_token, 'string');
});

// Open registration once let anyone get client_credentials tokens with no user behind them; a tool
// must run for a user the server knows, so what that left behind is refused after the upgrade.
test('a client_credentials client made by open registration is refused, and so is its token', async ({ server }) => {
  const { clientId, secret, accessToken } = secrets.anonymousMachine;
  const token = await tokenRequest(
    listen(server),
    { grant_type: 'client_credentials', scope: 'mcp:tools:read' },
    { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
  );
  assert.is(token.status, 400);
  assert.is(token.body.error, 'unauthorized_client');
  const mcp = await fetch(`${listen(server)}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.is(mcp.status, 401);
  assert.match(mcp.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
});

// The old log held personal fields in clear; the first start seals them in place (app/seal-upgrade.ts).
test('personal fields of the old log are sealed in place, and still read back', async ({ server }) => {
  const [aliceEmail] = secrets.users.alice!;
  const clear = await server.services.db.query<{ event_type: string }>(
    `SELECT event_type FROM events WHERE lower(data::text || metadata::text) LIKE $1 OR data::text LIKE $2`,
    [`%${aliceEmail!.toLowerCase()}%`, '%kept across the upgrade%'],
  );
  assert.equal(clear.rows, [], 'no clear copy of her address or her note is left in the event table');
  const sealed = await server.services.db.query<{ events: string }>('SELECT events::text FROM personal_data_sealed');
  assert.ok(Number(sealed.rows[0]?.events) > 0, 'the upgrade rewrote events');
  const opened = JSON.stringify((await server.services.log.readAll({ maxCount: 10_000 })).map((e) => e.data));
  assert.ok(opened.includes(aliceEmail!), 'her address reads back through the log');
  assert.ok(opened.includes('kept across the upgrade'));
});

test.run();
