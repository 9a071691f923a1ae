// Test-only: node:fs plus the Node 22 `globSync` the conformance suite calls, built on the `glob` package.
import fs from 'node:fs';
import { globSync as globPackageSync } from 'glob';

export * from 'node:fs';
export const globSync = (pattern, options = {}) =>
  globPackageSync(pattern, {
    cwd: options.cwd ?? process.cwd(),
    ...(options.exclude ? { ignore: options.exclude } : {}),
  });
export default { ...fs, globSync };
