// Suites that need an outside server (TEST_DATABASE_URL, TEST_EVENTSTORE_URL, chromium) say why they
// skip, in a line test/run.ts counts (test/support/results.ts): `<name>: skipped (<cases>): <why>`.
export const skipSuite = (name: string, why: string, cases = 1): void => {
  process.stdout.write(`${name}: skipped (${cases}): ${why}\n`);
};
