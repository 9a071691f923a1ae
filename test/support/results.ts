// Reads the counts of a test run from what it printed: uvu's summary (its documented report) and the
// line test/support/skip.ts prints for each suite that cannot run here.
export type Results = { passed: number; failed: number; skipped: number };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** A run that printed no uvu summary died before the end: one failure. */
export const countResults = (output: string): Results => {
  const plain = output.replace(ANSI, '');
  const summary = /^\s*Total:\s+(\d+)\s*\n\s*Passed:\s+(\d+)\s*\n\s*Skipped:\s+(\d+)/m.exec(plain);
  const suitesSkipped = [...plain.matchAll(/^.+: skipped \((\d+)\): /gm)].reduce((n, m) => n + Number(m[1]), 0);
  if (!summary) return { passed: 0, failed: 1, skipped: suitesSkipped };
  const [total, passed, skipped] = [summary[1], summary[2], summary[3]].map(Number) as [number, number, number];
  return { passed, failed: total - passed - skipped, skipped: skipped + suitesSkipped };
};
