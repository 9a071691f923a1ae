// The set-based form a rebuild applies (projections/batch.ts) against the statements one by one, for
// every projection, over a production-shaped log (bench/event-mix.ts) with the rarer events a real log
// also holds (erasure, revocations, deletions, setting changes), on PGlite and the server.
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { eventMix } from '../../bench/event-mix.ts';
import type { Database } from '../../db/database.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import type { RecordedEvent, StreamAppend } from '../../eventstore/port.ts';
import {
  batchFor,
  directCopySql,
  pushTexts,
  runTexts,
  setBasedSql,
  toBatch,
  type Texts,
} from '../../projections/batch.ts';
import { allProjections } from '../../projections/index.ts';
import {
  applyStatements,
  ddl,
  generationTables,
  statementsFor,
  toText,
  type Projection,
  type Statement,
  type Tables,
} from '../../projections/sql.ts';
import { embeddedDatabase, serverDatabase, serverUrl, type TestDatabase } from '../support/databases.ts';

// pg's own conversion of a parameter array: what the set-based columns must equal.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue(value: unknown): unknown };

const at = (minute: number) => new Date(Date.parse('2026-01-02T00:00:00Z') + minute * 60_000).toISOString();
const system = { actor: { id: 'test', type: 'system' } };

/** Events of the mix's kinds that the mix does not write, on ids it made. */
const rarer = (events: readonly RecordedEvent[], round: number): StreamAppend[] => {
  const ofType = (type: string) => events.filter((event) => event.type === type).map((event) => event.data as never);
  const users = ofType('UserCreated') as { userId: string }[];
  const grants = ofType('AuthorizationCodeRedeemed') as { grantId: string; tokens: { accessTokenId: string } }[];
  const notes = ofType('MemoryStored') as { noteId: string; userId: string }[];
  const clients = ofType('ClientRegistered') as { clientId: string; clientName: string }[];
  const browsers = ofType('BrowserSessionStarted') as { sessionId: string }[];
  const streams = new Map<string, { type: string; data: unknown; metadata: typeof system }[]>();
  const push = (stream: string, type: string, data: unknown) => {
    const list = streams.get(stream) ?? [];
    list.push({ type, data, metadata: system });
    streams.set(stream, list);
  };
  // The newest user is erased: one with rows in every read model, and a different one in each part.
  const [first, second, third] = [users[round], users[round + 1], users.at(-1)];
  if (first) {
    push(`user-${first.userId}`, 'UserPasswordChanged', { userId: first.userId, passwordHash: `h${round}`, at: at(1) });
    push(`user-${first.userId}`, 'UserRolesChanged', { userId: first.userId, roles: ['user', 'admin'], at: at(2) });
    push(`user-${first.userId}`, 'UserEmailVerified', { userId: first.userId, at: at(3) });
  }
  if (second) {
    push(`user-${second.userId}`, 'UserDisabled', { userId: second.userId, at: at(4) });
    push(`user-${second.userId}`, 'UserEnabled', { userId: second.userId, at: at(5) });
    push(`user-${second.userId}`, 'UserDisabled', { userId: second.userId, at: at(6) });
  }
  if (third)
    push(`user-${third.userId}`, 'UserErased', {
      userId: third.userId,
      keySubjects: [`user:${third.userId}`],
      at: at(7),
    });
  for (const [i, grant] of grants.slice(round, round + 3).entries()) {
    const stream = `oauth-grant-${grant.grantId}`;
    if (i === 0) push(stream, 'GrantRevoked', { grantId: grant.grantId, reason: 'revoked', at: at(8) });
    else
      push(stream, 'AccessTokenRevoked', {
        grantId: grant.grantId,
        accessTokenId: grant.tokens.accessTokenId,
        at: at(9),
      });
  }
  for (const note of notes.slice(round, round + 2))
    push(`memory-note-${note.noteId}`, 'MemoryDeleted', { noteId: note.noteId, userId: note.userId, at: at(10) });
  for (const browser of browsers.slice(round, round + 2))
    push(`browser-session-${browser.sessionId}`, 'BrowserSessionEnded', {
      sessionId: browser.sessionId,
      at: at(11),
      reason: 'revoked',
    });
  if (first) {
    // A knowledge graph's life, names with quotes and backslashes: an entity deleted with its relations
    // and created again, observations added and taken back.
    const graph = `memory-graph-${first.userId}`;
    const userId = first.userId;
    const [a, b, c] = [`Ada "${round}"`, `B\\o'b ${round}`, `C ${round}`];
    push(graph, 'MemoryEntitiesCreated', {
      userId,
      at: at(17),
      entities: [
        { name: a, entityType: 'person', observations: ['likes tea'] },
        { name: b, entityType: 'person', observations: [] },
        { name: c, entityType: 'place', observations: ['by the sea'] },
      ],
    });
    push(graph, 'MemoryRelationsCreated', {
      userId,
      at: at(18),
      relations: [
        { from: a, to: b, relationType: 'knows' },
        { from: b, to: c, relationType: 'lives in' },
        { from: a, to: c, relationType: 'visits' },
      ],
    });
    push(graph, 'MemoryObservationsAdded', {
      userId,
      at: at(19),
      additions: [
        { entityName: a, contents: ['likes tea', 'reads "Emma"'] },
        { entityName: b, contents: ['a \\ backslash'] },
      ],
    });
    push(graph, 'MemoryObservationsDeleted', {
      userId,
      at: at(20),
      deletions: [{ entityName: a, observations: ['likes tea'] }],
    });
    push(graph, 'MemoryRelationsDeleted', {
      userId,
      at: at(21),
      relations: [{ from: a, to: c, relationType: 'visits' }],
    });
    push(graph, 'MemoryEntitiesDeleted', { userId, at: at(22), names: [b] });
    push(graph, 'MemoryEntitiesCreated', {
      userId,
      at: at(23),
      entities: [{ name: b, entityType: 'robot', observations: ['back again'] }],
    });
    push(graph, 'MemoryRelationsCreated', {
      userId,
      at: at(24),
      relations: [{ from: b, to: a, relationType: 'knows' }],
    });
  }
  push('tool-settings-memory_search', 'ToolDisabled', { name: 'memory_search', at: at(12), reason: `r${round}` });
  push('tool-settings-memory_search', 'ToolEnabled', { name: 'memory_search', at: at(13) });
  push('tool-settings-system_whoami', 'ToolDisabled', { name: 'system_whoami', at: at(14) });
  const client = clients[round / 2];
  if (client) {
    push(`oauth-client-${client.clientId}`, 'ClientResourceServerSet', {
      clientId: client.clientId,
      resourceServer: true,
      at: at(15),
    });
    push(`oauth-client-${client.clientId}`, 'ClientDeleted', { clientId: client.clientId, at: at(16) });
  }
  return [...streams].map(([stream, events]) => ({ stream, events }));
};

/** The mix in three parts, with the rarer events between them (so they land mid-page and mid-lifecycle). */
const productionLog = async (): Promise<RecordedEvent[]> => {
  const log = new MemoryEventLog();
  let part = 0;
  for (const appends of eventMix(6_000)) {
    await log.appendMany(appends);
    const events = await log.readAll();
    if (events.length >= (part + 1) * 1_500 && part < 3) {
      await log.appendMany(rarer(events, part * 2));
      part += 1;
    }
  }
  return log.readAll();
};

let generation = 9000;
const freshTables = async (db: Database, projection: Projection): Promise<Tables> => {
  const tables = generationTables(projection, (generation += 1));
  for (const statement of ddl(projection, tables)) await db.query(statement);
  return tables;
};

/** Every table's rows as JSON, sorted (the order rows were written in is not what is compared). */
const snapshot = async (db: Database, tables: Tables) => {
  const rows: Record<string, string[]> = {};
  for (const [name, physical] of Object.entries(tables))
    rows[name] = (await db.query(`SELECT * FROM ${physical}`)).rows.map((row) => JSON.stringify(row)).sort();
  return rows;
};

/** Pages of the log as a rebuild reads them, each applied in one transaction. */
const replay = async (
  db: Database,
  events: readonly RecordedEvent[],
  page: number,
  apply: (page: RecordedEvent[]) => Statement[],
) => {
  for (let i = 0; i < events.length; i += page) {
    const statements = apply(events.slice(i, i + page));
    if (statements.some((statement) => statement.copy !== undefined)) {
      // COPY into the staging table: the set-based form a rebuild on a server runs.
      const texts: Texts = { texts: [], copies: [] };
      pushTexts(texts, statements);
      await runTexts(db, texts);
    } else await db.transaction((tx) => applyStatements(tx, statements));
  }
};

const databases: [string, () => Promise<TestDatabase>][] = [['PGlite', embeddedDatabase]];
if (serverUrl()) databases.push(['server', serverDatabase]);

for (const [name, open] of databases) {
  const test = suite<{ database: TestDatabase; events: RecordedEvent[] }>(`projections: set-based rebuild (${name})`);
  test.before(async (context) => {
    context.database = await open();
    context.events = await productionLog();
  });
  test.after(async ({ database }) => database.dispose());

  if (name === 'server')
    test('a page sent with COPY is one transaction: a failure after the COPY leaves no row', async ({ database }) => {
      const { db } = database;
      const t = { t: 'batch_copy_atomic' };
      await db.query(`CREATE TABLE ${t.t} (k text PRIMARY KEY)`);
      const insert = (k: string): Statement => ({
        sql: `INSERT INTO ${t.t} (k) VALUES ($1) ON CONFLICT (k) DO NOTHING`,
        params: [k],
        batch: { key: k, types: ['text'] },
      });
      const page = (last: Statement) => {
        const texts: Texts = { texts: [], copies: [] };
        pushTexts(texts, [...toBatch([insert('a'), insert('b')], 1), last]);
        return texts;
      };
      const failing = page({ sql: 'SELECT 1 / 0' });
      assert.ok(
        failing.copies.some((data) => data !== undefined),
        'the rows go by COPY',
      );
      const error = await runTexts(db, failing).then(
        () => undefined,
        (thrown: Error) => thrown,
      );
      assert.match(error?.message ?? 'no error', /division by zero/);
      const count = async () => (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${t.t}`)).rows[0]!.n;
      assert.is(await count(), 0);
      await runTexts(db, page({ sql: `INSERT INTO ${t.t} (k) VALUES ('c')` }));
      assert.is(await count(), 3);
      await db.query(`DROP TABLE ${t.t}`);
    });

  test('the log holds the rarer events, each more than once', ({ events }) => {
    for (const type of [
      'UserErased',
      'GrantRevoked',
      'AccessTokenRevoked',
      'MemoryDeleted',
      'ClientDeleted',
      'ToolEnabled',
      'MemoryEntitiesDeleted',
    ])
      assert.ok(events.filter((event) => event.type === type).length >= 2, type);
  });

  // A rebuild reads metadata only for the projections that say they read it (Projection.readsMetadata).
  test('a projection that does not declare readsMetadata writes the same without metadata', ({ events }) => {
    const actor = { actor: { id: 'someone', type: 'user', email: 'someone@example.test' }, via: 'test' };
    const withMetadata = events.map((event) => ({ ...event, metadata: actor }));
    const without = events.map((event) => ({ ...event, metadata: {} }));
    for (const projection of allProjections) {
      const tables = generationTables(projection, 1);
      const same =
        JSON.stringify(statementsFor(projection, withMetadata, tables)) ===
        JSON.stringify(statementsFor(projection, without, tables));
      assert.is(same, !projection.readsMetadata, projection.name);
    }
  });

  for (const projection of allProjections) {
    test(`${projection.name}: the set-based pages leave the tables the statements one by one leave`, async ({
      database,
      events,
    }) => {
      const { db } = database;
      const read = events.filter((event) => projection.eventTypes.includes(event.type) && event.type !== 'UserErased');
      // Pages of 2,000 (the rebuild's) and of 97 (lifecycles cut across pages).
      for (const page of [2_000, 97]) {
        const one = await freshTables(db, projection);
        const set = await freshTables(db, projection);
        await replay(db, events, page, (slice) => statementsFor(projection, slice, one));
        await replay(db, events, page, (slice) => batchFor(projection, slice, set));
        const expected = await snapshot(db, one);
        assert.equal(await snapshot(db, set), expected);
        if (!db.embedded) {
          // Every round by COPY (a rebuild copies only large ones).
          const copied = await freshTables(db, projection);
          await replay(db, events, page, (slice) => batchFor(projection, slice, copied, 1));
          assert.equal(await snapshot(db, copied), expected);
        }
        // The comparison can fail: the mix gives every table rows (those the mix never writes excepted).
        if (read.length > 0) assert.ok(Object.values(expected).some((rows) => rows.length > 0));
      }
      // Set-based indeed: far fewer statements than events, for every projection the mix feeds.
      const statements = statementsFor(projection, events, generationTables(projection, 1)).length;
      const batched = batchFor(projection, events, generationTables(projection, 1)).length;
      if (statements > 100) assert.ok(batched * 4 < statements, `${batched} set-based of ${statements}`);
    });
  }

  test.run();
}

const plain = suite('projections: set-based statements');

plain('each kind of statement becomes its set-based form over the rows relation', () => {
  assert.is(
    setBasedSql('INSERT INTO t (a, b) VALUES ($1, lower($2)) ON CONFLICT (a) DO NOTHING', ['uuid', 'text']),
    'INSERT INTO t (a, b) SELECT (v.c1::uuid), lower((v.c2::text)) FROM $ROWS ON CONFLICT (a) DO NOTHING',
  );
  assert.is(
    setBasedSql('UPDATE t SET o = ARRAY(SELECT x FROM unnest(o) x WHERE x <> $2) WHERE id = $1', ['text', 'text']),
    'UPDATE t SET o = ARRAY(SELECT x FROM unnest(o) x WHERE x <> (v.c2::text)) FROM $ROWS WHERE id = (v.c1::text)',
  );
  assert.is(
    setBasedSql('DELETE FROM t WHERE g = $1 AND e <= $2', ['text', 'timestamptz']),
    'DELETE FROM t USING $ROWS WHERE g = (v.c1::text) AND e <= (v.c2::timestamptz)',
  );
  // A parameter in DO UPDATE has no row to come from; a statement without WHERE is not single-key.
  assert.throws(
    () => setBasedSql('INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = $1', ['text']),
    /use EXCLUDED/,
  );
  assert.throws(() => setBasedSql('UPDATE t SET a = $1', ['text']), /needs a WHERE/);
});

plain(
  'changes to one key keep their order across rounds; an unmarked statement writes the pending rounds first',
  () => {
    const insert = (key: string): Statement => ({
      sql: 'INSERT INTO t (k) VALUES ($1) ON CONFLICT (k) DO NOTHING',
      params: [key],
      batch: { key, types: ['text'] },
    });
    const touch = (key: string): Statement => ({
      sql: 'UPDATE t SET n = n + 1 WHERE k = $1',
      params: [key],
      batch: { key, types: ['text'] },
    });
    const barrier: Statement = { sql: 'DELETE FROM t' };
    const out = toBatch([insert('a'), touch('a'), insert('b'), touch('a'), barrier, touch('b')]);
    // One array literal per column ($1 holds c1 of every row).
    assert.equal(
      out.map((statement) => [statement.sql.split(' ')[0], statement.params ?? null]),
      [
        ['INSERT', ['{"a","b"}']],
        ['UPDATE', ['{"a"}']],
        ['UPDATE', ['{"a"}']],
        ['DELETE', null],
        ['UPDATE', ['{"b"}']],
      ],
    );
  },
);

plain('a column travels as the array literal pg itself writes for the same texts', () => {
  const values = [
    'plain',
    'quote " here',
    'back \\ slash \\"',
    null,
    '',
    'NULL',
    '{a,b}',
    'tab\tand\nline',
    42,
    ['x', 'y"'],
  ];
  const [statement] = toBatch(
    values.map((value, i) => ({
      sql: 'INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING',
      params: [String(i), value],
      batch: { key: String(i), types: ['text', 'text'] },
    })),
  );
  assert.equal(statement!.params![1], prepareValue(values.map(toText)));
});

plain('fresh rows of a plain INSERT go by COPY straight into the table; other rounds through staging', () => {
  const insert = (k: string, fresh: boolean): Statement => ({
    sql: 'INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING',
    params: [k, `v\t${k}`],
    batch: fresh ? { key: k, types: ['uuid', 'text'], fresh: true } : { key: k, types: ['uuid', 'text'] },
  });
  const [direct] = toBatch([insert('a', true), insert('b', true)], 1);
  assert.is(direct!.sql, 'COPY t (k, v) FROM STDIN');
  // COPY's text format: a tab between columns, a line per row, a tab inside a value escaped (as UTF-8).
  assert.is(String(direct!.copy), 'a\tv\\ta\nb\tv\\tb\n');
  // Characters beyond ASCII, a backslash, NULL, a line break: as COPY reads them.
  const odd = toBatch(
    [
      { ...insert('é', true), params: ['é', 'x\\y\r\n😀'] },
      { ...insert('c', true), params: ['c', null] },
    ],
    1,
  )[0]!;
  assert.equal(odd.copy, Buffer.from('é\tx\\\\y\\r\\n😀\nc\t\\N\n', 'utf8'));
  // Rows longer than the first guess of the buffer's size.
  const long = toBatch([{ ...insert('l', true), params: ['l', 'ü'.repeat(5_000)] }, insert('m', true)], 1)[0]!;
  assert.equal(long.copy, Buffer.from(`l\t${'ü'.repeat(5_000)}\nm\tv\tm\n`.replace('v\tm', 'v\\tm'), 'utf8'));
  const [staged] = toBatch([insert('a', false), insert('b', false)], 1);
  assert.match(staged!.sql, /COPY rebuild_rows_2 FROM STDIN/);
  // Below the COPY threshold a fresh round is an ordinary set-based INSERT.
  assert.ok(toBatch([insert('a', true)], 2)[0]!.sql.startsWith('INSERT INTO t (k, v) SELECT'));
  // Only plain parameters in order, and only DO NOTHING, map onto COPY's columns.
  assert.is(directCopySql('INSERT INTO t (k, v) VALUES ($2, $1) ON CONFLICT (k) DO NOTHING', 2), undefined);
  assert.is(directCopySql("INSERT INTO t (k, v) VALUES ($1, 'x') ON CONFLICT (k) DO NOTHING", 1), undefined);
  assert.is(
    directCopySql('INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v', 2),
    undefined,
  );
  assert.is(
    directCopySql('INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO NOTHING', 2),
    'COPY t (k, v) FROM STDIN',
  );
});

plain.run();
