import pino, { type Logger } from 'pino';

export type { Logger };

/** pino to stdout; tests pass level 'silent'. Log lines are also kept in a ring for the admin logs page. */
export const createLogger = (level: string, ring?: LogRing, out: NodeJS.WritableStream = process.stdout): Logger => {
  const streams: pino.StreamEntry[] = [{ level: 'trace', stream: out }];
  if (ring) streams.push({ level: 'trace', stream: ring });
  return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams));
};

/** The most recent structured log lines, newest last (a bounded ring, no disk). */
export class LogRing {
  private readonly lines: Record<string, unknown>[] = [];
  constructor(private readonly capacity = 1_000) {}
  write(chunk: string): void {
    try {
      this.lines.push(JSON.parse(chunk) as Record<string, unknown>);
      if (this.lines.length > this.capacity) this.lines.shift();
    } catch {
      // not JSON: ignore, pino always writes JSON lines
    }
  }
  recent(minLevel = 0, limit = 200): Record<string, unknown>[] {
    return this.lines.filter((line) => Number(line.level ?? 0) >= minLevel).slice(-limit);
  }
}
