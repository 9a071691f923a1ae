// What every CLI command is, and the plain-text output they share (stdout: tables and lines).
import type { ParseArgsConfig } from 'node:util';
import type { Services } from '../app/services.ts';

export type Values = Record<string, string | boolean | undefined>;
export type Command = {
  summary: string;
  options?: ParseArgsConfig['options'];
  /** Start the projection runner (default true); off for commands that only touch the log. */
  projections?: boolean;
  run(services: Services, values: Values, positionals: string[]): Promise<number | void>;
};

export const out = (text: string) => process.stdout.write(`${text}\n`);
export const table = (rows: Record<string, unknown>[]) => {
  if (rows.length === 0) return out('(none)');
  const keys = Object.keys(rows[0]!);
  const widths = keys.map((key) => Math.max(key.length, ...rows.map((row) => String(row[key] ?? '').length)));
  const format = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  out(format(keys));
  for (const row of rows) out(format(keys.map((key) => String(row[key] ?? ''))));
};
/** 42 s, 3 min, 5 h, 2 d: a span a person reads at a glance. */
export const duration = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
};
