// The set-based form of a page of statements, for rebuilds: statements a projection marks `batch` (a
// single-row change: what it touches, and the types of its parameters) become one statement per
// template per round, over a relation of rows; anything else runs as it is, in order.
//
// Why it equals the statements one by one: a marked statement touches only rows of its `key` (its
// table's rows for that key), so changes to different keys commute. Round r holds the r-th change of
// each key, so every key sees its changes in order, and no statement of a round touches a key twice
// (which ON CONFLICT DO UPDATE and UPDATE … FROM could not do in order). An unmarked statement may touch
// any row: every pending round is written before it.
import type pg from 'pg';
import type { Database } from '../db/database.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import {
  STATEMENTS_PER_QUERY,
  statementsFor,
  toSql,
  toText,
  type CopyData,
  type Projection,
  type Statement,
  type Tables,
} from './sql.ts';

type Template = { readonly sql: string; readonly types: readonly string[]; readonly fresh: boolean };

/** Index of the parenthesis closing the one at `open` (no parentheses inside our string literals). */
const closing = (sql: string, open: number): number => {
  let depth = 0;
  for (let i = open; i < sql.length; i += 1) {
    const char = sql[i];
    if (char === "'") i = sql.indexOf("'", i + 1);
    else if (char === '(') depth += 1;
    else if (char === ')' && (depth -= 1) === 0) return i;
  }
  throw new Error(`unbalanced parentheses: ${sql}`);
};

/** Index of the last WHERE outside parentheses (a SET may hold a sub-select with its own). */
const topLevelWhere = (sql: string): number => {
  let depth = 0;
  let found = -1;
  for (let i = 0; i < sql.length; i += 1) {
    const char = sql[i];
    if (char === "'") i = sql.indexOf("'", i + 1);
    else if (char === '(') depth += 1;
    else if (char === ')') depth -= 1;
    else if (depth === 0 && /^WHERE\b/i.test(sql.slice(i, i + 6)) && /\s/.test(sql[i - 1] ?? '')) found = i;
  }
  return found;
};

const RELATION = '$ROWS';

/**
 * The statement rewritten over a relation `v` of rows: `$n` becomes `v.cn` cast to its type, exactly as
 * PostgreSQL casts a literal in that place. INSERT … VALUES (…) becomes INSERT … SELECT … FROM rows,
 * UPDATE … WHERE gains FROM rows, DELETE … WHERE gains USING rows. `$ROWS` stands for the relation.
 */
export const setBasedSql = (sql: string, types: readonly string[]): string => {
  const value = (whole: string, n: string) => {
    const type = types[Number(n) - 1];
    if (!type) throw new Error(`no type for ${whole}: ${sql}`);
    return `(v.c${n}::${type})`;
  };
  const values = (text: string) => text.replace(/\$(\d+)/g, value);
  const insert = /^\s*INSERT\s+INTO\s+\S+\s*\([^)]*\)\s*VALUES\s*\(/i.exec(sql);
  if (insert) {
    const open = insert.index + insert[0].length - 1;
    const close = closing(sql, open);
    const tail = sql.slice(close + 1);
    // ON CONFLICT … DO UPDATE sees only the table and EXCLUDED: a parameter there has no row to come from.
    if (/\$\d/.test(tail)) throw new Error(`parameters after VALUES (use EXCLUDED): ${sql}`);
    const head = sql.slice(0, open).replace(/VALUES\s*$/i, '');
    return `${head}SELECT ${values(sql.slice(open + 1, close))} FROM ${RELATION}${tail}`;
  }
  const where = topLevelWhere(sql);
  if (where < 0) throw new Error(`a batch statement needs a WHERE: ${sql}`);
  const head = sql.slice(0, where);
  const condition = values(sql.slice(where));
  if (/^\s*UPDATE\s/i.test(sql)) return `${values(head)}FROM ${RELATION} ${condition}`;
  if (/^\s*DELETE\s+FROM\s/i.test(sql)) return `${head}USING ${RELATION} ${condition}`;
  throw new Error(`not an INSERT … VALUES, UPDATE or DELETE: ${sql}`);
};

const rewritten = new Map<string, string>();

const PLAIN_INSERT =
  /^\s*INSERT\s+INTO\s+(\S+)\s*\(([^)]*)\)\s*VALUES\s*\(([^)]*)\)\s*ON\s+CONFLICT\b[^;]*\bDO\s+NOTHING\s*$/i;

/**
 * `COPY t (…) FROM STDIN` for a fresh row's INSERT (BatchMark.fresh) whose values are exactly `$1 … $n`
 * in order; undefined for any other. COPY reads each column with its type's input function, as the
 * cast from the staging table does, without the staging table's write and read and ON CONFLICT's
 * speculative insertion.
 */
export const directCopySql = (sql: string, arity: number): string | undefined => {
  const parts = PLAIN_INSERT.exec(sql);
  if (!parts) return undefined;
  const values = parts[3]!.split(',').map((value) => value.trim());
  if (values.length !== arity || values.some((value, i) => value !== `$${i + 1}`)) return undefined;
  return `COPY ${parts[1]} (${parts[2]!.trim()}) FROM STDIN`;
};

const directCopies = new Map<string, string | null>();

/**
 * Where a server's set-based statement reads its rows from: a temporary table of text columns on the
 * connection, filled by COPY. PostgreSQL read a column's array literal (lexed in the query text, then
 * parsed by array_in) at several times the CPU of COPY's text format; the cast in the statement reads
 * each text with its type's input function either way, as it reads a literal.
 */
export const stagingTable = (arity: number): string => `rebuild_rows_${arity}`;

/** The staging table, created on a connection's first use (temporary: gone with the connection). */
const stagingDdl = (arity: number): string =>
  `CREATE TEMP TABLE IF NOT EXISTS ${stagingTable(arity)} (${Array.from({ length: arity }, (_, i) => `c${i + 1} text`).join(', ')})`;

/**
 * A server rebuild's rounds of at least this many rows come by COPY. Smaller ones stay array literals:
 * a COPY costs its staging table a TRUNCATE (a new file) and more protocol, more than a few hundred rows'
 * literals (every round by COPY cost PostgreSQL as much as it saved).
 */
export const COPY_MIN_ROWS = 1_000;

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A COPY text escape: `\\` and the characters that end a column or a row. */
const copyEscaped = (text: string | null): string =>
  text === null ? '\\N' : COPY_SPECIAL.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : text;

/**
 * The rows in COPY's text format (a tab between columns, a line per row, \N for NULL, `\` escapes) as
 * the UTF-8 bytes sent: a short string per row, written into one buffer. One string for all rows held
 * every piece of it until it was flattened and encoded, about twice the CPU (37,700 rows of tool calls).
 */
const copyText = (rows: (readonly unknown[])[], arity: number): Buffer => {
  let out = Buffer.allocUnsafe(Math.max(4_096, rows.length * 128));
  let length = 0;
  for (let r = 0; r < rows.length; r += 1) {
    const row = rows[r]!;
    let line = copyEscaped(toText(row[0]));
    for (let i = 1; i < arity; i += 1) line += '\t' + copyEscaped(toText(row[i]));
    line += '\n';
    // At most 3 bytes of UTF-8 per UTF-16 unit.
    if (length + line.length * 3 > out.length) {
      const larger = Buffer.allocUnsafe(Math.max(out.length * 2, length + line.length * 3));
      out.copy(larger, 0, 0, length);
      out = larger;
    }
    length += out.write(line, length);
  }
  return out.subarray(0, length);
};

/**
 * One set-based statement: the template over `rows`, passed as one array per column and read by unnest.
 * PostgreSQL reads each element with its type's input function, as it reads a literal; an array-typed
 * column travels as the text of its literal, cast in the template. On PGlite this cost about half of
 * what one jsonb document of the rows did (no JSON to parse, no key lookups per row).
 */
const roundStatement = (template: Template, rows: (readonly unknown[])[], copyFrom: number): Statement => {
  const id = `${template.types.join(',')}|${template.sql}`;
  let sql = rewritten.get(id);
  if (sql === undefined) {
    sql = setBasedSql(template.sql, template.types);
    rewritten.set(id, sql);
  }
  const { types } = template;
  if (rows.length >= copyFrom && template.fresh) {
    let copy = directCopies.get(template.sql);
    if (copy === undefined) directCopies.set(template.sql, (copy = directCopySql(template.sql, types.length) ?? null));
    if (copy !== null) return { sql: copy, copy: copyText(rows, types.length) };
  }
  if (rows.length >= copyFrom) {
    const table = stagingTable(types.length);
    // LIMIT: as below, the planner learns how many rows come (a temporary table has no statistics).
    const relation = `(SELECT * FROM ${table} LIMIT ${rows.length}) AS v`;
    return {
      sql: `${stagingDdl(types.length)};\nTRUNCATE ${table};\nCOPY ${table} FROM STDIN;\n${sql.replace(RELATION, () => relation)}`,
      copy: copyText(rows, types.length),
    };
  }
  const arrays = types.map((type, i) => `$${i + 1}::${type.endsWith('[]') ? 'text' : type}[]`).join(', ');
  const columns = types.map((_, i) => `c${i + 1}`).join(', ');
  // LIMIT tells the planner how many rows come (it assumes 100 for a function): with the true count it
  // finds a round's few rows by index instead of scanning the table, which made a rebuild quadratic.
  const relation = `(SELECT * FROM unnest(${arrays}) AS r(${columns}) LIMIT ${rows.length}) AS v`;
  // Each value as the text pg would send for it (as sql.ts inlines it), so the cast reads what a literal would.
  const params = types.map((_, i) => arrayLiteral(rows, i));
  return { sql: sql.replace(RELATION, () => relation), params };
};

const QUOTED = /[\\"]/;

/**
 * Column `i` of the rows as a PostgreSQL array literal of texts, as pg writes a parameter array of
 * strings (each element quoted, `\` and `"` escaped): built once here, instead of an array of texts that
 * pg then walked again, escaping every element with two regular expressions.
 */
const arrayLiteral = (rows: (readonly unknown[])[], i: number): string => {
  let out = '{';
  for (let r = 0; r < rows.length; r += 1) {
    const text = toText(rows[r]![i]);
    if (r > 0) out += ',';
    out += text === null ? 'NULL' : QUOTED.test(text) ? `"${text.replace(/[\\"]/g, '\\$&')}"` : `"${text}"`;
  }
  return `${out}}`;
};

type Change = { template: Template; values: readonly unknown[]; supersedes: boolean };

const sameTypes = (a: readonly string[], b: readonly string[]) =>
  a === b || (a.length === b.length && a.every((type, i) => type === b[i]));

/**
 * The statements in order, marked ones gathered into rounds of set-based statements (see above); a round
 * of at least `copyFrom` rows comes by COPY into a staging table (run the result with runTexts).
 */
export const toBatch = (statements: readonly Statement[], copyFrom = Infinity): Statement[] => {
  const out: Statement[] = [];
  let rounds: Map<Template, Change[]>[] = [];
  // Per key: how many changes it has in the pending rounds, and its last one.
  let keys = new Map<string, { count: number; last: Change }>();
  const templates = new Map<string, Template[]>();
  const flush = () => {
    for (const round of rounds)
      for (const [template, changes] of round)
        out.push(
          roundStatement(
            template,
            changes.map((change) => change.values),
            copyFrom,
          ),
        );
    rounds = [];
    keys = new Map();
  };
  for (const statement of statements) {
    const mark = statement.batch;
    if (!mark) {
      flush();
      out.push(statement);
      continue;
    }
    // By sql, then by types (a join per statement to key one map cost more than the lookups it saved).
    let same = templates.get(statement.sql);
    if (!same) templates.set(statement.sql, (same = []));
    const fresh = mark.fresh === true;
    let template = same.find((known) => known.fresh === fresh && sameTypes(known.types, mark.types));
    if (!template) same.push((template = { sql: statement.sql, types: mark.types, fresh }));
    const seen = keys.get(mark.key);
    const values = statement.params ?? [];
    if (seen && mark.supersedes && seen.last.supersedes && seen.last.template === template) {
      seen.last.values = values;
      continue;
    }
    const change: Change = { template, values, supersedes: mark.supersedes === true };
    const round = seen?.count ?? 0;
    keys.set(mark.key, { count: round + 1, last: change });
    const changes = (rounds[round] ??= new Map()).get(template);
    if (changes) changes.push(change);
    else rounds[round]!.set(template, [change]);
  }
  flush();
  return out;
};

/** The part of pg's connection a submitted query drives (pg calls `submit`, then `handle…` per message). */
type Wire = {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
};

/**
 * A simple-protocol query whose statements include `COPY … FROM STDIN`: each CopyInResponse gets the next
 * of `copies` and CopyDone, and the server goes on with the statements after it (one implicit
 * transaction for the whole text, as for any multi-statement query). Resolves at ReadyForQuery.
 */
const copyQuery = (client: pg.PoolClient, text: string, copies: readonly CopyData[]): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    let next = 0;
    let failure: unknown;
    const submittable = {
      submit: (wire: Wire) => wire.query(text),
      handleCopyInResponse: (wire: Wire) => {
        const data = copies[next++];
        if (data === undefined) return wire.sendCopyFail('no data for this COPY');
        wire.sendCopyFromChunk(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
        wire.endCopyFrom();
      },
      handleRowDescription: () => undefined,
      handleDataRow: () => undefined,
      handleCommandComplete: () => undefined,
      handleEmptyQuery: () => undefined,
      handleCopyData: () => undefined,
      handlePortalSuspended: () => undefined,
      // The server still sends ReadyForQuery after an error, unless the connection itself failed.
      handleError: (error: unknown) => {
        failure ??= error;
        reject(error);
      },
      handleReadyForQuery: () => (failure === undefined ? resolve() : reject(failure)),
    };
    (client as unknown as { query(submittable: unknown): unknown }).query(submittable);
  });

/** Statements as query texts: toSql's, but a statement with a COPY is a text of its own, with its data. */
export type Texts = { texts: string[]; copies: (CopyData | undefined)[] };

/** Appends the statements (toBatch's, in order) to `into`. */
export const pushTexts = (into: Texts, batch: readonly Statement[]): void => {
  for (let i = 0; i < batch.length;) {
    const copy = batch[i]!.copy;
    if (copy !== undefined) {
      into.copies[into.texts.push(batch[i]!.sql) - 1] = copy;
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < batch.length && batch[end]!.copy === undefined) end += 1;
    into.texts.push(...toSql(batch.slice(i, end)));
    i = end;
  }
};

/**
 * Runs the texts in one transaction, many per round trip: one simple-protocol query when they fit (its
 * statements run as one implicit transaction), so a page costs one round trip.
 */
export const runTexts = async (db: Database, { texts, copies }: Texts): Promise<void> => {
  if (copies.length === 0) {
    if (texts.length <= STATEMENTS_PER_QUERY) await db.query(texts.join(';\n'));
    else
      await db.transaction(async (tx) => {
        for (let i = 0; i < texts.length; i += STATEMENTS_PER_QUERY)
          await tx.query(texts.slice(i, i + STATEMENTS_PER_QUERY).join(';\n'));
      });
    return;
  }
  const client = await db.pool.connect();
  let broken: Error | undefined;
  try {
    const chunks: { text: string; copies: CopyData[] }[] = [];
    for (let i = 0; i < texts.length; i += STATEMENTS_PER_QUERY)
      chunks.push({
        text: texts.slice(i, i + STATEMENTS_PER_QUERY).join(';\n'),
        copies: copies.slice(i, i + STATEMENTS_PER_QUERY).filter((data) => data !== undefined),
      });
    if (chunks.length === 1) await copyQuery(client, chunks[0]!.text, chunks[0]!.copies);
    else {
      await client.query('BEGIN');
      try {
        for (const chunk of chunks) await copyQuery(client, chunk.text, chunk.copies);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    }
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    // A failed connection is not given back (its session may be mid-COPY or hold a failed transaction).
    client.release(broken);
  }
};

/** A projection's statements for a page of events in their set-based form (for rebuilds). */
export const batchFor = (
  projection: Projection,
  events: readonly RecordedEvent[],
  tables: Tables,
  copyFrom = Infinity,
): Statement[] => toBatch(statementsFor(projection, events, tables), copyFrom);

/** True when some statement is not single-key (it may look rows up by any column, so by an index). */
export const hasUnkeyed = (statements: readonly Statement[]): boolean =>
  statements.some((statement) => statement.batch === undefined);
