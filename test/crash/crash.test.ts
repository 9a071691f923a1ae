// kill -9 while a projection catches up, and while it rebuilds; after a restart the read model equals
// what the log says: no lost and no doubled batch (the counter projection is deliberately not
// idempotent, so only the batch + checkpoint transaction can keep it right).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openDatabase, type Database } from '../../db/database.ts';
import { createServerDatabase, serverUrl } from '../support/databases.ts';
import { PER_STREAM, STREAMS } from './shared.ts';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'child.ts');

/** Runs the child; with killAfter, SIGKILLs it once it reports that many handled events. */
const runChild = (
  mode: string,
  target: string,
  killAfter?: number,
): Promise<{ killed: boolean; lastHandled: number }> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode, target], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lastHandled = 0;
    let killed = false;
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const match of buffer.matchAll(/handled (\d+)/g)) lastHandled = Number(match[1]);
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
      if (killAfter !== undefined && !killed && lastHandled >= killAfter) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' || code === 0) resolve({ killed, lastHandled });
      else reject(new Error(`child ${mode} exited with ${code}`));
    });
  });

const TOTAL = STREAMS * PER_STREAM;

const check = async (db: Database, table = 'crash_counter') => {
  const counts = (await db.query<{ count: number }>(`SELECT count FROM ${table} ORDER BY stream`)).rows.map(
    (row) => row.count,
  );
  assert.equal(
    counts,
    Array.from({ length: STREAMS }, () => PER_STREAM),
  );
  const checkpoint = (
    await db.query<{ events_handled: string }>(
      `SELECT events_handled::text FROM projection_checkpoints WHERE name = $1`,
      [table],
    )
  ).rows[0];
  assert.is(Number(checkpoint!.events_handled), TOTAL);
};

const scenario = (
  name: string,
  target: () => Promise<{ url: string; open: () => Promise<Database>; drop(): Promise<void> }>,
) => {
  const test = suite(`crash: ${name}`);
  test('kill -9 during catch-up, then during rebuild: the read model equals the log', async () => {
    const t = await target();
    try {
      await runChild('seed', t.url);
      const first = await runChild('catchup', t.url, 1_000);
      assert.ok(first.killed, 'the catch-up was killed mid-way');
      assert.ok(first.lastHandled < TOTAL);
      await runChild('catchup', t.url);
      let db = await t.open();
      await check(db);
      await db.close();
      const second = await runChild('rebuild', t.url, 1_500);
      assert.ok(second.killed, 'the rebuild was killed mid-way');
      db = await t.open();
      const pending = (await db.query(`SELECT status FROM projection_checkpoints WHERE name = 'crash_counter@rebuild'`))
        .rows[0];
      assert.equal(pending, { status: 'rebuilding' });
      await check(db); // the live tables kept serving, untouched
      await db.close();
      // Both projections from one read, killed again: crash_counter resumes ahead of crash_counter_b.
      const third = await runChild('rebuild-all', t.url, 3_000);
      assert.ok(third.killed, 'the rebuild of both was killed mid-way');
      db = await t.open();
      await check(db);
      await check(db, 'crash_counter_b');
      await db.close();
      await runChild('rebuild-all', t.url); // each resumes from its own rebuild checkpoint
      db = await t.open();
      await check(db);
      await check(db, 'crash_counter_b');
      const generations = (
        await db.query(
          `SELECT name, generation FROM projection_checkpoints WHERE name LIKE 'crash_counter%' ORDER BY name`,
        )
      ).rows;
      assert.equal(generations, [
        { name: 'crash_counter', generation: 1 },
        { name: 'crash_counter_b', generation: 1 },
      ]);
      await db.close();
    } finally {
      await t.drop();
    }
  });
  test.run();
};

if (serverUrl()) {
  scenario('PostgreSQL server', async () => {
    const created = await createServerDatabase();
    return { url: created.url, open: () => openDatabase({ kind: 'server', url: created.url }), drop: created.drop };
  });
}
scenario('embedded PGlite (DATA_DIR)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rmcp-crash-'));
  return {
    url: dir,
    open: () => openDatabase({ kind: 'embedded', dataDir: dir }),
    drop: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
