// Suites that need an outside server (TEST_DATABASE_URL, TEST_EVENTSTORE_URL, chromium) say why they skip.
let skipped = 0;

export const skipSuite = (name: string, why: string, cases = 1): void => {
  skipped += cases;
  process.stdout.write(`${name}: skipped: ${why}\n`);
};

export const skippedCount = (): number => skipped;
