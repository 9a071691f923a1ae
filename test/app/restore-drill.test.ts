// Backup and restore drill: real server with users, OAuth grants and memories → events export
// → a new, empty store → events import → start: every read model is rebuilt from the log and equals
// the original, and tokens issued before the backup are still valid (the signing keys came back too).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { exportEvents, importEvents } from '../../app/backup.ts';
import { PersonalKeyStore } from '../../eventstore/personal-keys.ts';
import { createLogger } from '../../app/logger.ts';
import { openDatabase } from '../../db/database.ts';
import { migrate } from '../../db/migrate.ts';
import { SYSTEM } from '../../domain/shared.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freshTokens, tokenRequest } from '../http/oauth/support.ts';

const test = suite('app: backup and restore drill');

/** Every projection table's rows, in a stable order. */
const readModels = async (server: TestServer): Promise<Record<string, unknown[]>> => {
  // memory_note_writes holds log positions, which are the new store's own after an import.
  const tables = server.services.projections.projections
    .flatMap((projection) => Object.keys(projection.tables))
    .filter((table) => table !== 'memory_note_writes')
    .sort();
  const result: Record<string, unknown[]> = {};
  for (const table of tables) {
    const rows = (await server.services.db.query(`SELECT * FROM ${table}`)).rows
      .map((row) => JSON.stringify(row))
      .sort();
    result[table] = rows;
  }
  return result;
};

test('export → empty store → import → start: identical read models, still-valid tokens', async () => {
  const useServer = Boolean(serverUrl());
  const first = useServer ? await createServerDatabase() : undefined;
  const original = await startTestServer({}, first ? { database: first } : {});
  const dump = new PassThrough();
  let text = '';
  dump.on('data', (chunk: Buffer) => (text += chunk.toString()));
  let before: Record<string, unknown[]>;
  let tokens: { access_token: string; refresh_token: string };
  try {
    await original.services.users.create({ email: 'drill@example.com', password: 'drill-password' }, SYSTEM);
    ({ tokens } = await freshTokens(original));
    const user = await original.services.users.byEmail('drill@example.com');
    await original.services.tools.memory.store.storeNote(user!.id, {
      title: 'Drill',
      content: 'restore me',
      tags: ['drill'],
    });
    await original.services.projections.waitFor(await original.services.log.headPosition());
    before = await readModels(original);
    await exportEvents(original.services.log, dump);
    dump.end();
  } finally {
    await original.stop();
    await first?.drop();
  }
  // The header and the data keys are lines too; the rest are events.
  const lines = text
    .trim()
    .split('\n')
    .filter((line) => 'stream' in (JSON.parse(line) as object)).length;
  assert.ok(lines > 10, `exported ${lines} events`);

  // Restore into an empty store with the CLI's path (no server running yet, no secret created).
  const second = useServer ? await createServerDatabase() : undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-restore-'));
  const db = second
    ? await openDatabase({ kind: 'server', url: second.url })
    : await openDatabase({ kind: 'embedded', dataDir });
  await migrate(db);
  const log = new PostgresEventLog(db);
  // The CLI's log brings its key store; a bare adapter is handed one (the keys go beside the read models).
  const keys = new PersonalKeyStore(db, () =>
    Promise.reject(new Error('no key is made during an import of sealed events')),
  );
  const imported = await importEvents(log, PassThrough.from([text]), { keys });
  assert.is(imported.imported, lines);
  await log.close();
  await db.close();

  // Same PUBLIC_URL (the issuer and audience of the old tokens), new store.
  const restored = await startTestServer(
    { PORT: original.env.PORT!, PUBLIC_URL: original.env.PUBLIC_URL!, ...(second ? {} : { DATA_DIR: dataDir }) },
    second ? { database: second } : { database: 'embedded' },
  );
  try {
    await restored.services.projections.waitFor(await restored.services.log.headPosition(), { timeoutMs: 30_000 });
    const after = await readModels(restored);
    for (const table of Object.keys(before!)) assert.equal(after[table], before![table], `read model ${table}`);
    const info = await restored.services.oauth.verifier.verify(tokens!.access_token, `${restored.base}/mcp`);
    assert.ok(info.subject, 'the access token issued before the backup verifies after the restore');
    const refreshed = await tokenRequest(restored.base, {
      grant_type: 'refresh_token',
      refresh_token: tokens!.refresh_token,
      client_id: info.clientId,
    });
    assert.is(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.ok(await restored.services.users.authenticate('drill@example.com', 'drill-password'));
  } finally {
    await restored.stop();
    await second?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
