// ARCHITECTURE.md's layer table, enforced: every relative import of a source file, type imports and
// dynamic import() included, must point to a folder its own folder may import.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const test = suite('architecture: layers');

/** The table of ARCHITECTURE.md: a folder may import itself and the folders listed for it. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  bin: ['app', 'projections', 'eventstore', 'db', 'domain'],
  http: ['app', 'mcp', 'projections', 'eventstore', 'db', 'domain'],
  mcp: ['app', 'projections', 'eventstore', 'db', 'domain'],
  app: ['projections', 'eventstore', 'db', 'domain'],
  projections: ['eventstore', 'db', 'domain'],
  eventstore: ['db'],
  db: [],
  domain: [],
};

/** The composition root builds every area, so it alone may import any folder. */
const COMPOSITION_ROOT = ['app/services.ts', 'app/server.ts', 'app/main.ts'];
/** Who may import the composition root: itself and the CLI (tests and benchmarks are not scanned). */
const MAY_IMPORT_SERVICES = (file: string) => COMPOSITION_ROOT.includes(file) || file.startsWith('bin/');

type Edge = { from: string; to: string };

const sourceFiles = (): string[] =>
  Object.keys(MAY_IMPORT).flatMap((folder) =>
    (fs.readdirSync(path.join(ROOT, folder), { recursive: true }) as string[])
      .filter((file) => file.endsWith('.ts'))
      .map((file) => path.posix.join(folder, file.split(path.sep).join('/'))),
  );

const importsOf = (file: string): Edge[] =>
  ts
    .preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true)
    .importedFiles.map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => ({
      from: file,
      to: path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)),
    }));

const folderOf = (file: string) => file.split('/')[0] ?? file;

export const layerViolations = (edges: readonly Edge[]): string[] =>
  edges
    .filter(({ from, to }) => {
      if (COMPOSITION_ROOT.includes(from)) return false;
      const source = folderOf(from);
      const target = folderOf(to);
      return source !== target && !(MAY_IMPORT[source] ?? []).includes(target);
    })
    .map(({ from, to }) => `${from} imports ${to}`);

export const servicesViolations = (edges: readonly Edge[]): string[] =>
  edges
    .filter(({ from, to }) => to === 'app/services.ts' && !MAY_IMPORT_SERVICES(from))
    .map(({ from, to }) => `${from} imports ${to}`);

const edges = sourceFiles().flatMap(importsOf);

test('the scan sees the imports it must judge (type-only and dynamic ones too)', () => {
  assert.ok(edges.length > 500, `only ${edges.length} imports found`);
  // A type-only import and a dynamic import() that exist today.
  assert.ok(edges.some(({ from, to }) => from === 'app/core.ts' && to === 'app/config.ts'));
  assert.ok(edges.some(({ from, to }) => from === 'app/services.ts' && to === 'eventstore/esdb.ts'));
});

test('the checks catch a folder importing upwards and an area importing the composition root', () => {
  assert.equal(
    layerViolations([
      { from: 'app/users.ts', to: 'http/errors.ts' },
      { from: 'db/database.ts', to: 'app/logger.ts' },
      { from: 'http/app.ts', to: 'mcp/index.ts' },
      { from: 'app/services.ts', to: 'http/app.ts' },
    ]),
    ['app/users.ts imports http/errors.ts', 'db/database.ts imports app/logger.ts'],
  );
  assert.equal(
    servicesViolations([
      { from: 'http/oauth/token.ts', to: 'app/services.ts' },
      { from: 'bin/cli.ts', to: 'app/services.ts' },
      { from: 'app/server.ts', to: 'app/services.ts' },
    ]),
    ['http/oauth/token.ts imports app/services.ts'],
  );
});

test('each folder imports only the folders ARCHITECTURE.md allows it', () => {
  assert.equal(layerViolations(edges), []);
});

test('nobody but the composition root and the CLI imports app/services.ts', () => {
  assert.equal(servicesViolations(edges), []);
});

test.run();
