// Erasure by crypto-shredding, end to end on the real server: one user's marker in every kind of personal
// field (address, name, memory notes and graph, tool arguments and results, MCP messages, sign-in address
// and user agent, an admin's address as actor), then `users erase`, then the marker is looked for
// everywhere: the raw event table, an export, every table of the database, the read models after a
// rebuild. A second user's markers must all still read back.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exportEvents, importEvents, ImportLineError } from '../../app/backup.ts';
import { LoginAudit } from '../../app/login-guard.ts';
import { handleCommand } from '../../app/handle.ts';
import { browserSessionDecider, browserSessionStream } from '../../domain/browser-sessions/index.ts';
import { ERASED, ERASED_USER, erasedEmail } from '../../domain/personal.ts';
import { DomainError, type Actor } from '../../domain/shared.ts';

import { allProjections } from '../../projections/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { caller, connectHttp, serveWithStandInTokens, structured, type Connected } from '../mcp/tools/support.ts';
import { startEmbeddingsStub, stubVector, type EmbeddingsStub } from '../mcp/tools/embeddings-stub.ts';
import { normalize } from '../../mcp/tools/memory/embeddings.ts';
import { contentHash } from '../../projections/tools/memory.ts';

const ALICE = 'xalicemarkx';
const BOB = 'xbobmarkx';

type Context = { server: TestServer; admin: Actor; backup: string; stub: EmbeddingsStub };

/**
 * What of `who` may sit in a file: the marker, and what is derived from their note without holding it
 * (its text hash, its vector as the index stores it: float32, little-endian).
 */
const traces = (who: { noteText: { title: string; content: string } }) => {
  const { title, content } = who.noteText;
  const vector = Float32Array.from(normalize(stubVector(`${title}\n${content}`)));
  return [
    { what: 'the marker', bytes: Buffer.from(title.replace(/^title /, '')) },
    { what: 'the text hash', bytes: Buffer.from(contentHash(title, content)) },
    { what: 'the vector', bytes: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength) },
  ];
};

/**
 * Files under DATA_DIR (the vector index's snapshots above all) holding any of `traces`, by raw bytes. The
 * embedded database's own files are left to the table dumps, as a server's are: a database keeps deleted
 * rows in its pages and write-ahead log until it reuses them, which no SQL can force.
 */
const filesHolding = (dataDir: string, wanted: readonly { what: string; bytes: Buffer }[]): string[] => {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (path.relative(dataDir, file) !== 'pgdata') walk(file);
        continue;
      }
      if (!entry.isFile()) continue;
      const bytes = fs.readFileSync(file);
      for (const { what, bytes: needle } of wanted)
        if (bytes.includes(needle) || bytes.toString('latin1').toLowerCase().includes(needle.toString('latin1')))
          found.push(`${path.relative(dataDir, file)}: ${what}`);
    }
  };
  walk(dataDir);
  return found;
};

/** Every table of the database, each row as JSON (what `pg_dump --data-only` would print, as text). */
const dumpTables = async (server: TestServer, except: readonly string[] = []): Promise<Map<string, string[]>> => {
  const tables = await server.services.db.query<{ name: string }>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const dump = new Map<string, string[]>();
  for (const { name } of tables.rows) {
    if (except.includes(name)) continue;
    const rows = await server.services.db.query(`SELECT * FROM "${name}"`);
    dump.set(name, rows.rows.map((row) => JSON.stringify(row)).sort());
  }
  return dump;
};

const holding = (dump: Map<string, string[]>, marker: string): string[] =>
  [...dump].flatMap(([table, rows]) =>
    rows.filter((row) => row.toLowerCase().includes(marker)).map((row) => `${table}: ${row.slice(0, 200)}`),
  );

const exportText = async (server: TestServer, options: { redact?: boolean } = {}): Promise<string> => {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  await exportEvents(server.services.log, out, options);
  out.end();
  return Buffer.concat(chunks).toString();
};

/** Personal data of `who` in every kind of field, through the real paths (tools over MCP, sign-in audit). */
const fill = async (server: TestServer, tokens: Awaited<ReturnType<typeof serveWithStandInTokens>>, who: string) => {
  const email = `${who}@example.test`;
  const userId = await server.services.users.create(
    { email, password: 'a-long-password', name: `Name ${who}` },
    { type: 'system', id: 'test' },
  );
  const connected: Connected = await connectHttp(server, tokens, caller(userId));
  structured(await connected.call('memory_store', { title: `title ${who}`, content: `content ${who}`, tags: [who] }));
  await connected.call('memory_create_entities', {
    entities: [{ name: `entity ${who}`, entityType: `type ${who}`, observations: [`seen ${who}`] }],
  });
  await connected.call('memory_create_entities', {
    entities: [{ name: `other ${who}`, entityType: 'thing', observations: [] }],
  });
  await connected.call('memory_add_observations', {
    observations: [{ entityName: `entity ${who}`, contents: [`more ${who}`] }],
  });
  await connected.call('memory_create_relations', {
    relations: [{ from: `entity ${who}`, to: `other ${who}`, relationType: `knows ${who}` }],
  });
  await new LoginAudit(server.services.log).signInFailed({
    email,
    ip: `203.0.113.7 ${who}`,
    via: 'oauth',
    reason: 'wrong_password',
    device: false,
    at: new Date(),
  });
  const sessionId = randomUUID();
  await handleCommand(
    server.services.log,
    browserSessionStream(sessionId),
    browserSessionDecider,
    {
      type: 'Start',
      sessionId,
      userId,
      purpose: 'oauth',
      now: new Date(),
      ttlMs: 3_600_000,
      ip: `198.51.100.1 ${who}`,
      userAgent: `Agent ${who}`,
    },
    { actor: { type: 'user', id: userId, email } },
  );
  await settle(server);
  return { userId, email, connected, noteText: { title: `title ${who}`, content: `content ${who}` } };
};

/**
 * The vector index has read the whole log, placed the vectors of these users' notes (a note is indexed
 * once its embedding is cached, which comes after its event: a search looks again) and saved to disk.
 */
const indexSaved = async (server: TestServer, userIds: readonly string[]) => {
  const vectors = server.services.tools.memory.store.vectors!;
  await vectors.waitFor((await server.services.log.headPosition())!);
  for (const userId of userIds) await vectors.search(userId, normalize(stubVector('note')), 1);
  await vectors.save();
};
/** What was found, by kind of file (the snapshot's and the users' file names change at each save). */
const inSnapshot = (files: readonly string[]) =>
  files.map((file) => file.replace(/snap-[^/]+\/u\d+/, 'snap-*/u*')).sort();

/** Every event in the log and projected: the tool-call audit is written behind the response. */
const settle = async (server: TestServer) => {
  await server.services.groupCommit.flush();
  await server.services.projections.waitFor(await server.services.log.headPosition());
};

const erasure = (name: string, database: () => Promise<{ url: string; drop(): Promise<void> } | 'embedded'>) => {
  const test = suite<Context & { alice: Awaited<ReturnType<typeof fill>>; bob: Awaited<ReturnType<typeof fill>> }>(
    `app: users erase (crypto-shredding) on ${name}`,
  );

  test.before(async (context) => {
    const db = await database();
    context.stub = await startEmbeddingsStub();
    context.server = await startTestServer(
      { OPENAI_API_KEY: 'sk-test-stub', OPENAI_BASE_URL: context.stub.url, EMBEDDING_MODEL: 'stub-embed-16' },
      { database: db },
    );
    if (db !== 'embedded') {
      const stop = context.server.stop;
      context.server.stop = async () => {
        await stop();
        await db.drop();
      };
    }
    const tokens = await serveWithStandInTokens(context.server);
    context.alice = await fill(context.server, tokens, ALICE);
    context.bob = await fill(context.server, tokens, BOB);
    const admin = await context.server.services.users.byEmail(context.server.adminEmail);
    context.admin = { type: 'user', id: admin!.id, email: admin!.email };
    context.backup = await exportText(context.server);
  });
  test.after(async ({ server, alice, bob, stub }) => {
    await alice?.connected.close().catch(() => undefined);
    await bob?.connected.close().catch(() => undefined);
    await server?.stop();
    await stub?.close();
  });

  test('before: personal fields are sealed in the log, and read back through it', async ({ server }) => {
    const raw = await server.services.db.query<{ event_type: string; data: unknown }>(
      `SELECT event_type, data FROM events WHERE lower(data::text || metadata::text) LIKE $1`,
      [`%${ALICE}%`],
    );
    assert.equal(raw.rows, [], 'no personal field of alice is in clear in the event table');
    const opened = JSON.stringify(
      (await server.services.log.readAll({ maxCount: 100_000 })).map(({ data, metadata }) => ({ data, metadata })),
    ).toLowerCase();
    for (const marker of [ALICE, BOB]) assert.ok(opened.includes(marker), `${marker} reads back through the log`);
  });

  test('erase refuses an unknown user and changes nothing', async ({ server, admin }) => {
    const before = await server.services.log.headPosition();
    try {
      await server.services.users.erase('nobody@example.test', admin);
      assert.unreachable('erased an unknown user');
    } catch (error) {
      assert.instance(error, DomainError);
      assert.is((error as DomainError).code, 'user_not_found');
    }
    assert.equal(await server.services.log.headPosition(), before);
  });

  test('before: the embeddings cache and the vector index on disk hold both users', async ({ server, alice, bob }) => {
    await indexSaved(server, [alice.userId, bob.userId]);
    for (const who of [alice, bob]) {
      const cached = await server.services.db.query<{ content_hash: string }>(
        'SELECT content_hash FROM memory_embeddings WHERE user_id = $1',
        [who.userId],
      );
      assert.equal(
        cached.rows.map((row) => row.content_hash),
        [contentHash(who.noteText.title, who.noteText.content)],
      );
      const files = filesHolding(server.dataDir, traces(who).slice(1));
      assert.ok(
        files.some((file) => file.endsWith('the text hash')),
        files.join('\n'),
      );
      assert.ok(
        files.some((file) => file.endsWith('the vector')),
        files.join('\n'),
      );
    }
  });

  test('after erase: the marker is nowhere, the other user is whole', async ({ server, admin, alice, bob }) => {
    await settle(server);
    await indexSaved(server, [alice.userId, bob.userId]);
    const liveBob = holding(await dumpTables(server), BOB);
    const bobFiles = filesHolding(server.dataDir, traces(bob));
    const result = await server.services.users.erase(alice.email, admin);
    assert.ok(result.erased);
    assert.is(result.keys, 2, "the user's key and their address's key are destroyed");
    assert.is(result.sessions, 1, 'the browser session ended');
    assert.is(result.mcpSessions, 1, 'the MCP session ended');
    await settle(server);

    // 1. a raw read of the event table (data, metadata, stream names)
    const raw = await server.services.db.query(
      `SELECT event_type, data FROM events WHERE lower(stream_id || data::text || metadata::text) LIKE $1`,
      [`%${ALICE}%`],
    );
    assert.equal(raw.rows, []);
    // 2. the log read through its port: alice's fields read as erased, bob's in clear
    const opened = JSON.stringify(
      (await server.services.log.readAll({ maxCount: 100_000 })).map(({ data, metadata }) => ({ data, metadata })),
    ).toLowerCase();
    assert.not.ok(opened.includes(ALICE), 'nothing of alice reads back');
    assert.ok(opened.includes(BOB));
    assert.ok(opened.includes(JSON.stringify(ERASED).toLowerCase()));
    // 3. exports, plain and redacted
    for (const redact of [false, true]) {
      const text = (await exportText(server, { redact })).toLowerCase();
      assert.not.ok(text.includes(ALICE), `an export (redact: ${redact}) holds nothing of alice`);
    }
    // 4. every table of the database, read models and key store included
    const dump = await dumpTables(server);
    assert.equal(holding(dump, ALICE), []);
    // 5. bob: every row that held his marker before still does
    assert.equal(holding(dump, BOB), liveBob);
    assert.ok(liveBob.some((row) => row.startsWith('memory_notes:')));
    assert.ok(liveBob.some((row) => row.startsWith('memory_entities:')));
    assert.ok(liveBob.some((row) => row.startsWith('memory_relations:')));
    assert.ok(liveBob.some((row) => row.startsWith('tool_calls:')));
    assert.ok(liveBob.some((row) => row.startsWith('users:')));
    assert.ok(liveBob.some((row) => row.startsWith('browser_sessions:')));
    assert.ok(liveBob.length > 0);
    // 6. what is derived from her notes: the embeddings cache (vectors, text hashes), and every file under
    //    DATA_DIR once the vector index has read the erasure (it saves at once)
    await indexSaved(server, [alice.userId, bob.userId]);
    const cache = await server.services.db.query<{ user_id: string; content_hash: string }>(
      'SELECT user_id, content_hash FROM memory_embeddings ORDER BY user_id',
    );
    assert.equal(
      cache.rows,
      [{ user_id: bob.userId, content_hash: contentHash(bob.noteText.title, bob.noteText.content) }],
      "only bob's vector is cached",
    );
    const hash = contentHash(alice.noteText.title, alice.noteText.content);
    assert.equal(
      [...(await dumpTables(server))].flatMap(([table, rows]) =>
        rows.some((row) => row.includes(hash)) ? [table] : [],
      ),
      [],
      'her text hash is in no table',
    );
    assert.equal(filesHolding(server.dataDir, traces(alice)), []);
    assert.ok(bobFiles.length >= 2, bobFiles.join('\n'));
    assert.equal(
      inSnapshot(filesHolding(server.dataDir, traces(bob))),
      inSnapshot(bobFiles),
      "bob's vector and hash are still on disk",
    );
    const vectors = server.services.tools.memory.store.vectors!;
    assert.is(vectors.userVectors(alice.userId), undefined);
    assert.is(vectors.userVectors(bob.userId)?.size, 1);
  });

  test('an export made before the erasure, restored, brings nothing back', async ({ server, backup }) => {
    const [first] = backup.split('\n');
    const header = JSON.parse(first!) as { remotemcp: string; redacted: boolean; holds: string };
    assert.is(header.remotemcp, 'events export');
    assert.is(header.redacted, false);
    assert.match(header.holds, /sealed/);
    for (const marker of [ALICE, BOB]) assert.not.ok(backup.toLowerCase().includes(marker), `${marker} is sealed`);
    assert.ok(backup.includes('"personalDataKey"'), 'the wrapped keys travel with a plain export');
    const result = await importEvents(server.services.log, PassThrough.from([backup]));
    assert.is(result.imported, 0);
    const opened = JSON.stringify(
      (await server.services.log.readAll({ maxCount: 100_000 })).map(({ data, metadata }) => ({ data, metadata })),
    ).toLowerCase();
    assert.not.ok(opened.includes(ALICE), "the backup's copy of her key did not come back");
    assert.ok(opened.includes(BOB));
    await server.services.projections.waitFor(await server.services.log.headPosition());
    assert.equal(holding(await dumpTables(server), ALICE), []);
  });

  test('a redacted export cannot be imported', async ({ server }) => {
    try {
      await importEvents(server.services.log, PassThrough.from([await exportText(server, { redact: true })]));
      assert.unreachable('imported a redacted export');
    } catch (error) {
      assert.instance(error, ImportLineError);
      assert.is((error as ImportLineError).lineNumber, 1);
    }
  });

  test('read models show the erased user; she cannot sign in; the command is idempotent', async (context) => {
    const { server, alice, admin } = context;
    const row = await server.services.users.byId(alice.userId);
    assert.is(row?.name, ERASED_USER);
    assert.is(row?.email, erasedEmail(alice.userId));
    assert.is(row?.status, 'erased');
    assert.is(await server.services.users.authenticate(alice.email, 'a-long-password'), undefined);
    assert.is(await server.services.users.byEmail(alice.email), undefined);
    const again = await server.services.users.erase(alice.email, admin);
    assert.equal(again, { erased: false, keys: 0, grants: 0, sessions: 0, mcpSessions: 0 });
    const events = await server.services.log.readStream(`user-${alice.userId}`);
    const erased = events.find((event) => event.type === 'UserErased');
    assert.equal(erased?.metadata.actor, admin, 'the event names the admin');
    try {
      await server.services.users.create({ email: alice.email, password: 'another-password' }, admin);
      assert.unreachable('re-created an erased user');
    } catch (error) {
      assert.is((error as DomainError).code, 'user_exists');
    }
  });

  test('a rebuild of every projection gives the same read models as the live run', async ({ server }) => {
    const keep = ['events', 'event_streams', 'projection_checkpoints', 'schema_migrations', 'personal_data_keys'];
    await settle(server);
    const live = await dumpTables(server, keep);
    for (const projection of allProjections) await server.services.projections.rebuild(projection.name);
    const rebuilt = await dumpTables(server, keep);
    const names = (dump: Map<string, string[]>) => [...dump.keys()].map((name) => name.replace(/__g\d+$/, ''));
    assert.equal(names(rebuilt), names(live));
    const values = (dump: Map<string, string[]>) => [...dump.values()];
    assert.equal(values(rebuilt), values(live));
  });

  return test;
};

erasure('PGlite', async () => 'embedded').run();
if (serverUrl()) erasure('a PostgreSQL server', createServerDatabase).run();
