// Each read model owns its queries: SQL that names a table a projection declares lives under projections/
// (in the `<name>.queries.ts` beside the projection), so renaming a column touches one folder. This scans
// the string and template literals of every other source file (comments are not literals, so prose that
// names a table is fine) for SQL naming such a table, and for a table's bare name used as an identifier.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allProjections } from '../../projections/index.ts';

const test = suite('projections: read-model SQL lives beside its projection');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Source folders outside projections/ (tests and benchmarks may read tables directly). */
const FOLDERS = ['app', 'bin', 'db', 'domain', 'eventstore', 'http', 'mcp'];
/**
 * Tables owned by projections/ that no projection declares: the embeddings cache is keyed by text hash
 * and model, not rebuilt from the log (projections/tools/embeddings.queries.ts creates it).
 */
const CACHES = ['memory_embeddings'];
/** `file: table` pairs allowed outside projections/, each with its reason. None today. */
const EXCEPTIONS: Readonly<Record<string, string>> = {};

const TABLES = [...allProjections.flatMap((projection) => Object.keys(projection.tables)), ...CACHES];

const escape = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const names = TABLES.map(escape).join('|');
// A statement naming a table: `FROM t`, `JOIN t`, `UPDATE t`, `INTO t`, `TABLE t`, `TRUNCATE t`, `ON t`.
const IN_SQL = new RegExp(
  `\\b(?:from|join|update|into|table|truncate|on)\\s+(?:only\\s+)?"?(${names})\\b(?![-.])`,
  'i',
);
// A literal that is only a table name (a list of tables to query, a projection named by string). Names
// without an underscore (`users`) are also ordinary words (a page, a section), so only those with one.
const BARE = new RegExp(
  `^(${TABLES.filter((name) => name.includes('_'))
    .map(escape)
    .join('|')})$`,
);

/** Tables named by SQL (or as a bare identifier) in the literals of one source text: `line table` each. */
const tablesNamedIn = (fileName: string, text: string): string[] => {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    let literal: string | undefined;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) literal = node.text;
    // A template's parts joined, so a statement split by `${…}` is read whole.
    else if (ts.isTemplateExpression(node))
      literal = [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join('${}');
    if (literal !== undefined) {
      const match = IN_SQL.exec(literal) ?? BARE.exec(literal);
      if (match) found.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1} ${match[1]}`);
      if (ts.isTemplateExpression(node)) return;
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
};

const sourceFiles = (): string[] =>
  FOLDERS.flatMap((folder) =>
    fs
      .readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts'))
      .map((file) => `${folder}/${file.split(path.sep).join('/')}`),
  );

test('the scan knows every read-model table', () => {
  assert.ok(TABLES.length >= 17, `only ${TABLES.length} tables`);
  for (const table of ['users', 'oauth_grants', 'oauth_access_tokens', 'mcp_sessions', 'tool_calls', 'memory_notes'])
    assert.ok(TABLES.includes(table), table);
});

test('the scan finds SQL naming a table, in strings and templates, and skips comments and prose', () => {
  const text = [
    `const a = 'SELECT 1 FROM oauth_grants WHERE grant_id = $1';`,
    'const b = `SELECT id FROM mcp_sessions s',
    '  JOIN users u ON u.id = s.user_id WHERE s.id = ${id}`;',
    `const c = "UPDATE  browser_sessions SET ended_at = now()";`,
    `const d = ['memory_notes'];`,
    `// SELECT * FROM oauth_grants in a comment is prose`,
    `const e = 'users';`,
    `const f = 'signed in users see this';`,
    `const g = \`SELECT * FROM \${table} t\`;`,
    `const h = 'insert into tool_calls_archive (x) values (1)';`,
    `const i = 'SELECT 1 FROM events';`,
  ].join('\n');
  assert.equal(tablesNamedIn('sample.ts', text), [
    '1 oauth_grants',
    '2 mcp_sessions',
    '4 browser_sessions',
    '5 memory_notes',
  ]);
});

test('no source file outside projections/ holds SQL on a read-model table', () => {
  const files = sourceFiles();
  assert.ok(files.length > 100, `only ${files.length} source files scanned`);
  const offending = files.flatMap((file) =>
    tablesNamedIn(file, fs.readFileSync(path.join(root, file), 'utf8'))
      .filter((hit) => !(`${file}: ${hit.split(' ')[1]}` in EXCEPTIONS))
      .map((hit) => `${file}:${hit}`),
  );
  assert.equal(offending, []);
});

test('every exception still names a file that needs it', () => {
  for (const entry of Object.keys(EXCEPTIONS)) {
    const [file, table] = entry.split(': ') as [string, string];
    const hits = tablesNamedIn(file, fs.readFileSync(path.join(root, file), 'utf8'));
    assert.ok(
      hits.some((hit) => hit.endsWith(` ${table}`)),
      `${entry} is no longer needed`,
    );
  }
});

test.run();
