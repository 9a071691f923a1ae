// Statements a projection returns, and how a batch of them reaches the database in few round trips.
import { createRequire } from 'node:module';
import pg from 'pg';
import type { Queryable } from '../db/database.ts';
import type { RecordedEvent } from '../eventstore/port.ts';
import { toStorable, toStorableText } from '../eventstore/storable.ts';

export type Statement = {
  readonly sql: string;
  readonly params?: readonly unknown[];
  /**
   * `INSERT … VALUES ($1, …) ON CONFLICT … DO NOTHING`: consecutive statements with the same sql may be
   * sent as one INSERT with a VALUES row each (see applyStatements). PostgreSQL parses and plans every
   * statement of a query: for an insert-only read model (one row per event) that was most of its work.
   */
  readonly rows?: true;
  /** Set-based replay (projections/batch.ts): a statement that changes the rows of one key only. */
  readonly batch?: BatchMark;
  /** The sql holds one `COPY … FROM STDIN`, and this is its data (COPY text format; see copyQuery). */
  readonly copy?: CopyData;
};

/** COPY text format data: as a string, or as its UTF-8 bytes. */
export type CopyData = string | Buffer;

/** How a single-row statement becomes set-based in a rebuild (projections/batch.ts). */
export type BatchMark = {
  /** The rows the statement may touch, within its table: the same key for every statement touching them. */
  readonly key: string;
  /** The type PostgreSQL gives each parameter ($1 … $n) in the statement. */
  readonly types: readonly string[];
  /**
   * A later change with the same sql and key replaces this one when nothing else touched the key between
   * them: only where applying both leaves what the later alone leaves (an upsert of the whole row guarded
   * by a revision or position that only grows in log order).
   */
  readonly supersedes?: true;
  /**
   * The statement is `INSERT INTO t (…) VALUES ($1, …, $n) ON CONFLICT … DO NOTHING` of a row whose key is
   * the event's own id: unique in the log, and a rebuild applies each event once (its rows and checkpoint
   * commit together), so its fresh table never holds the key yet. A server rebuild may COPY such rows
   * straight into the table.
   */
  readonly fresh?: true;
};

/** Logical table name → physical name (the live table, or a rebuild's fresh `name__gN`). */
export type Tables = Readonly<Record<string, string>>;

export type Projection = {
  readonly name: string;
  /** Bump when the tables or the meaning of toStatements change: the runner rebuilds on start. */
  readonly version: number;
  /** DDL per logical table; `{table}` placeholders become physical names (also in index names). */
  readonly tables: Readonly<Record<string, string>>;
  /** Event types this projection reads; others only move its checkpoint. */
  readonly eventTypes: readonly string[];
  /**
   * A rebuild builds secondary indexes after the load, unless its set-based statements look rows up by
   * one (projections/batch.ts): then they are built with the tables.
   */
  readonly rebuildNeedsIndexes?: true;
  /**
   * toStatements reads `metadata`: a rebuild reads the metadata of this projection's event types, and
   * leaves it {} for the events of projections that do not (most never look at it).
   */
  readonly readsMetadata?: true;
  /** Pure and idempotent: applying an event twice leaves the same rows. */
  toStatements(event: RecordedEvent, tables: Tables): Statement[];
};

export const liveTables = (projection: Projection): Tables =>
  Object.fromEntries(Object.keys(projection.tables).map((name) => [name, name]));

export const generationTables = (projection: Projection, generation: number): Tables =>
  Object.fromEntries(Object.keys(projection.tables).map((name) => [name, `${name}__g${generation}`]));

/**
 * A statement's sql built once per set of tables, not once per event: a rebuild keys its rounds by the
 * sql (projections/batch.ts), and a Map lookup flattens and hashes a fresh string every time.
 */
export const sqlPerTables = (build: (t: Tables) => string): ((t: Tables) => string) => {
  const built = new WeakMap<Tables, string>();
  return (t) => {
    let sql = built.get(t);
    if (sql === undefined) built.set(t, (sql = build(t)));
    return sql;
  };
};

/** The projection's DDL with placeholders filled in. */
export const ddl = (projection: Projection, tables: Tables): string[] =>
  Object.values(projection.tables).map((text) =>
    text.replace(/\{(\w+)\}/g, (whole, name: string) => tables[name] ?? whole),
  );

// pg's own conversion of parameters (arrays → '{…}', Date → timestamp, objects → JSON), so an
// inlined statement means exactly what the parameterized one would.
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils') as { prepareValue(value: unknown): unknown };

// toStorable: a read model stores text from events, and a log written before events were checked (or an
// EventStoreDB one) may hold U+0000 or an unpaired surrogate; PostgreSQL would refuse the statement, and
// the projection would stop at that event for good. Such characters become U+FFFD here.
/** A parameter as the text PostgreSQL reads for it (NULL as null). */
export const toText = (value: unknown): string | null => {
  // Most values are strings and numbers: pg's conversion of them is their toString, without the walk.
  if (typeof value === 'string') return toStorableText(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const prepared = prepareValue(toStorable(value));
  return prepared === null || prepared === undefined ? null : String(prepared);
};

/** Dollar-quoted when long (a set-based statement's columns): no escaping to do, here or in the lexer. */
const literal = (value: unknown): string => {
  const text = toText(value);
  if (text === null) return 'NULL';
  if (text.length < 256) return pg.escapeLiteral(text);
  let tag = '$q$';
  for (let n = 0; text.includes(tag); n += 1) tag = `$q${n}$`;
  return `${tag}${text}${tag}`;
};

const INDEX = /^\s*CREATE\s+(UNIQUE\s+)?INDEX\s+/i;

/** The DDL as single statements: tables (with keys and constraints), and their secondary indexes apart. */
export const splitDdl = (projection: Projection, tables: Tables): { tables: string[]; indexes: string[] } => {
  const statements = ddl(projection, tables).flatMap((text) => text.split(/;\s*(?=CREATE\s)/i));
  return {
    tables: statements.filter((statement) => !INDEX.test(statement)),
    // IF NOT EXISTS: a rebuild resumed after a crash may find some already built.
    indexes: statements
      .filter((statement) => INDEX.test(statement))
      .map((statement) => statement.replace(INDEX, (head) => `${head}IF NOT EXISTS `)),
  };
};

/** A sql cut at its `$n` placeholders: the text around them (one piece more than `names`), and each one. */
type Placeholders = {
  readonly pieces: readonly string[];
  /** Each placeholder as written (`$2`), and the parameter index (from 0) it stands for. */
  readonly names: readonly string[];
  readonly params: readonly number[];
};

/**
 * Cuts by sql text: a projection sends a few sqls (per table generation) over and over, and a rows
 * statement's VALUES tuple once per row of every batch; a placeholder replace each time was most of the
 * CPU a live batch of issued tokens cost here. Bounded: emptied when full.
 */
const placeholderCuts = new Map<string, Placeholders>();
const MAX_PLACEHOLDER_CUTS = 1_000;

const placeholdersOf = (sql: string): Placeholders => {
  const known = placeholderCuts.get(sql);
  if (known) return known;
  const pieces: string[] = [];
  const names: string[] = [];
  const params: number[] = [];
  let from = 0;
  for (const placeholder of sql.matchAll(/\$(\d+)/g)) {
    pieces.push(sql.slice(from, placeholder.index));
    names.push(placeholder[0]);
    params.push(Number(placeholder[1]) - 1);
    from = placeholder.index + placeholder[0].length;
  }
  pieces.push(sql.slice(from));
  const cut = { pieces, names, params };
  if (placeholderCuts.size >= MAX_PLACEHOLDER_CUTS) placeholderCuts.clear();
  placeholderCuts.set(sql, cut);
  return cut;
};

/** `$n` placeholders replaced by escaped literals (our own SQL only; never user-written SQL text). */
export const inline = (statement: Statement): string => {
  const given = statement.params;
  if (!given || given.length === 0) return statement.sql;
  const { pieces, names, params } = placeholdersOf(statement.sql);
  let text = pieces[0]!;
  for (let i = 0; i < params.length; i += 1) {
    const index = params[i]!;
    if (index >= given.length) throw new Error(`statement has no parameter ${names[i]}: ${statement.sql}`);
    text += literal(given[index]) + pieces[i + 1]!;
  }
  return text;
};

/** Statements applyStatements sends in one simple-protocol query. */
export const STATEMENTS_PER_QUERY = 500;

const ROWS = /^([\s\S]*\bVALUES\s*)(\([^()]*\))(\s+ON\s+CONFLICT\b[^;]*\bDO\s+NOTHING\s*)$/i;
/** The table a plain `INSERT INTO t …` writes (a statement with a WITH clause has none here). */
const TARGET = /^\s*INSERT\s+INTO\s+([^\s(]+)/i;

/** A `rows` sql cut where its VALUES tuple is. */
type RowsTemplate = { readonly head: string; readonly tuple: string; readonly tail: string };

/** Templates by sql text: matching ROWS (whose greedy heads backtrack over the whole statement) once per sql. */
const rowsTemplates = new Map<string, RowsTemplate>();
const MAX_ROWS_TEMPLATES = 1_000;

const rowsTemplate = (sql: string): RowsTemplate => {
  const known = rowsTemplates.get(sql);
  if (known) return known;
  const parts = ROWS.exec(sql);
  if (!parts) throw new Error(`a rows statement must be INSERT … VALUES (…) ON CONFLICT … DO NOTHING: ${sql}`);
  const [, head, tuple, tail] = parts as unknown as [string, string, string, string];
  const template = { head, tuple, tail };
  if (rowsTemplates.size >= MAX_ROWS_TEMPLATES) rowsTemplates.clear();
  rowsTemplates.set(sql, template);
  return template;
};

/** One multi-row INSERT of statements that share one `rows` sql. */
const mergedRows = (statements: readonly Statement[]): string => {
  const { head, tuple, tail } = rowsTemplate(statements[0]!.sql);
  const values = statements.map((statement) => inline({ sql: tuple, params: statement.params ?? [] }));
  return `${head}${values.join(',\n')}${tail}`;
};

/**
 * A run of consecutive `rows` statements as INSERTs. When each sql of the run inserts into its own table,
 * one INSERT per sql, in the order each first appears: DO NOTHING inserts into different tables commute
 * (read-model tables have no triggers or foreign keys), and one table's rows keep their order. So an
 * event's row in two tables, repeated for every event of a batch, is two statements, not two per event.
 * When two sqls of the run share a table, only neighbours merge (which of two rows wins may depend on
 * the order).
 */
const runSql = (run: readonly Statement[]): string[] => {
  const groups = new Map<string, Statement[]>();
  for (const statement of run) {
    const group = groups.get(statement.sql);
    if (group) group.push(statement);
    else groups.set(statement.sql, [statement]);
  }
  const tables = [...groups.keys()].map((sql) => TARGET.exec(sql)?.[1]?.toLowerCase());
  if (tables.every((table) => table !== undefined) && new Set(tables).size === tables.length)
    return [...groups.values()].map(mergedRows);
  const texts: string[] = [];
  for (let i = 0; i < run.length;) {
    let end = i + 1;
    while (end < run.length && run[end]!.sql === run[i]!.sql) end += 1;
    texts.push(mergedRows(run.slice(i, end)));
    i = end;
  }
  return texts;
};

/**
 * The statements as SQL text, in order; runs of `rows` statements become multi-row INSERTs (runSql).
 * Same rows, same order per table: with DO NOTHING, a row that conflicts with an earlier one of the
 * same INSERT is skipped just as it would be by a later statement.
 */
export const toSql = (statements: readonly Statement[]): string[] => {
  const texts: string[] = [];
  for (let i = 0; i < statements.length;) {
    if (!statements[i]!.rows) {
      texts.push(inline(statements[i]!));
      i += 1;
      continue;
    }
    let end = i + 1;
    while (end < statements.length && statements[end]!.rows) end += 1;
    texts.push(...runSql(statements.slice(i, end)));
    i = end;
  }
  return texts;
};

/**
 * Runs statements in order, many per round trip (one simple-protocol query holds up to `chunk`
 * statements): per-statement round trips would cap a rebuild at a few thousand events per second.
 */
export const applyStatements = async (
  tx: Queryable,
  statements: readonly Statement[],
  chunk = STATEMENTS_PER_QUERY,
): Promise<void> => {
  for (let i = 0; i < statements.length; i += chunk) {
    await tx.query(toSql(statements.slice(i, i + chunk)).join(';\n'));
  }
};

/** Statements for the events this projection reads, in order. */
export const statementsFor = (
  projection: Projection,
  events: readonly RecordedEvent[],
  tables: Tables,
): Statement[] => {
  // A loop over a set: a rebuild runs every projection over every event of a page, and filter + flatMap
  // made an array per event and compared each event's type with every type in the list.
  const types = typeSet(projection);
  const out: Statement[] = [];
  for (const event of events)
    if (types.has(event.type)) for (const s of projection.toStatements(event, tables)) out.push(s);
  return out;
};

const typeSets = new WeakMap<Projection, ReadonlySet<string>>();
const typeSet = (projection: Projection): ReadonlySet<string> => {
  let types = typeSets.get(projection);
  if (types === undefined) typeSets.set(projection, (types = new Set(projection.eventTypes)));
  return types;
};

/**
 * A page's events with their types numbered once, so that each projection of a rebuild picks its own
 * by number: a Set lookup of every event's type, for each of the projections, was a tenth of a
 * rebuild's node work outside the reads.
 */
export class TypedPage {
  private readonly numbers = new Map<string, number>();
  private readonly typeOf: Int32Array;

  constructor(readonly events: readonly RecordedEvent[]) {
    this.typeOf = new Int32Array(events.length);
    for (let i = 0; i < events.length; i += 1) {
      const type = events[i]!.type;
      let number = this.numbers.get(type);
      if (number === undefined) this.numbers.set(type, (number = this.numbers.size));
      this.typeOf[i] = number;
    }
  }

  /** The events of the projection's types, in order (what statementsFor would take of them). */
  of(projection: Projection): RecordedEvent[] {
    const wanted = new Uint8Array(this.numbers.size);
    let any = false;
    for (const type of projection.eventTypes) {
      const number = this.numbers.get(type);
      if (number !== undefined) wanted[number] = 1;
      any ||= number !== undefined;
    }
    const out: RecordedEvent[] = [];
    if (!any) return out;
    for (let i = 0; i < this.events.length; i += 1) if (wanted[this.typeOf[i]!] === 1) out.push(this.events[i]!);
    return out;
  }
}
