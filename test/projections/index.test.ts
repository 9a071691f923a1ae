// Every read model has a test beside it: projections/<path>.ts is tested by test/projections/<path>.test.ts,
// which imports it, so a projection added without its apply-twice test fails here.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { allProjections } from '../../projections/index.ts';

const test = suite('projections: every read model has its test');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFINITION = /^export const \w+: Projection = \{/gm;

const sources = fs
  .readdirSync(path.join(root, 'projections'), { recursive: true, encoding: 'utf8' })
  .filter((file) => file.endsWith('.ts'))
  .map((file) => ({
    file: file.split(path.sep).join('/'),
    count: fs.readFileSync(path.join(root, 'projections', file), 'utf8').match(DEFINITION)?.length ?? 0,
  }))
  .filter(({ count }) => count > 0);

test('every projection the runner feeds is defined in a file under projections/', () => {
  assert.is(
    sources.reduce((sum, { count }) => sum + count, 0),
    allProjections.length,
  );
});

test('each file that defines a projection has a mirrored test that imports it', () => {
  const missing = sources
    .map(({ file }) => file)
    .filter((file) => {
      const testFile = path.join(root, 'test', 'projections', file.replace(/\.ts$/, '.test.ts'));
      return !fs.existsSync(testFile) || !fs.readFileSync(testFile, 'utf8').includes(`projections/${file}'`);
    });
  assert.equal(missing, []);
});

test.run();
