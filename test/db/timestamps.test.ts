// db/timestamps.ts reads timestamptz text as pg's own parser (postgres-date) does, value for value.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import pg from 'pg';
import { fastTimestamps, parseTimestamptz } from '../../db/timestamps.ts';
import { prepared } from '../../db/database.ts';
import { embeddedDatabase } from '../support/databases.ts';

const test = suite('db: timestamptz text');
const pgParse = pg.types.getTypeParser(1184, 'text') as (text: string) => unknown;

const same = (text: string) => {
  const ours = parseTimestamptz(text);
  const theirs = pgParse(text);
  if (ours instanceof Date && theirs instanceof Date)
    assert.is(Object.is(ours.getTime(), theirs.getTime()), true, `${text}: ${ours.getTime()} vs ${theirs.getTime()}`);
  else assert.equal(ours, theirs, text);
};

test('every shape PostgreSQL writes reads as postgres-date reads it', () => {
  for (const text of [
    '2026-01-01 00:00:00+00',
    '2026-12-08 00:02:26.1+00',
    '2026-12-08 00:02:26.12+00',
    '2026-12-08 00:02:26.123+00',
    '2026-12-08 00:02:26.123456+00',
    '2026-12-08 23:59:59.999999+00',
    '2024-02-29 12:00:00.57+00',
    '0100-01-01 00:00:00+00',
    '0099-01-01 00:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '2026-12-08 00:02:26.5+05:30',
    '2026-12-08 00:02:26-08',
    '2026-12-08 00:02:26.25+01',
    '12026-12-08 00:02:26+00',
    'infinity',
    '-infinity',
    '2026-12-08 0a:02:26+00',
  ])
    same(text);
});

test('random fractions and times read as postgres-date reads them', () => {
  let seed = 42;
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const two = (n: number) => String(n).padStart(2, '0');
  for (let i = 0; i < 20_000; i += 1) {
    const digits = next(7);
    const fraction = digits === 0 ? '' : `.${String(next(10 ** digits)).padStart(digits, '0')}`;
    same(
      `${1900 + next(200)}-${two(1 + next(12))}-${two(1 + next(28))} ${two(next(24))}:${two(next(60))}:${two(next(60))}${fraction}+00`,
    );
  }
});

test('a statement with these parsers reads timestamps as pg does', async () => {
  const { db, dispose } = await embeddedDatabase();
  try {
    await db.query("SET TimeZone = 'UTC'");
    const sql = `SELECT t FROM (VALUES ('2026-12-08 00:02:26.123456+00'::timestamptz), ('1999-12-31 23:59:59+00'), (NULL)) AS v(t)`;
    const fast = await db.query<{ t: Date | null }>(prepared(sql, fastTimestamps));
    const plain = await db.query<{ t: Date | null }>(sql);
    assert.equal(
      fast.rows.map((row) => row.t?.getTime() ?? null),
      plain.rows.map((row) => row.t?.getTime() ?? null),
    );
    assert.ok(fast.rows[0]!.t instanceof Date);
  } finally {
    await dispose();
  }
});

test.run();
