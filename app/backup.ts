// `events export` / `events import`: the event log as NDJSON, one event per line in global order.
// The way to back up, restore, and move between stores (embedded → PostgreSQL server → EventStoreDB).
import type { Readable, Writable } from 'node:stream';
import readline from 'node:readline';
import { z } from 'zod';
import { START, type EventLog, type GlobalPosition, type RecordedEvent } from '../eventstore/port.ts';
import { redactEvent } from './redact.ts';
import type { EncryptingLog } from '../eventstore/encrypting.ts';
import type { PersonalKeyStore, StoredKey } from '../eventstore/personal-keys.ts';

/** The first line of every export: what it is and what it holds, for whoever opens the file. */
export const ExportHeader = z.object({
  remotemcp: z.literal('events export'),
  format: z.literal(1),
  redacted: z.boolean(),
  holds: z.string(),
});
export type ExportHeader = z.infer<typeof ExportHeader>;

const HOLDS_PLAIN =
  'every event in global order; personal fields sealed (AES-256-GCM) under per-user data keys; the data keys, ' +
  'wrapped under the server secret, and the tombstones of erased ones; the server secret, private signing keys ' +
  'and password hashes in clear. Whoever holds this file can sign tokens and read all personal data not erased: ' +
  'keep it as secret as the server. Erasing a user later does not reach this file; restoring it into the ' +
  'same database keeps the erasure (its tombstones win).';
const HOLDS_REDACTED =
  'every event in global order with secrets and personal fields replaced by "[redacted]"; no data keys, no ' +
  'server secret: nothing in it opens a sealed field. For reading, not for restoring.';

const PersonalDataKeyLine = z.object({
  personalDataKey: z.object({
    kid: z.string().min(1),
    subject: z.string().min(1),
    wrapped: z.string().nullable(),
    createdAt: z.iso.datetime({ offset: true }),
  }),
});

/** The log as stored: personal fields still sealed (an export never holds them opened). */
const sealedSource = (log: EventLog): EventLog => (log as Partial<EncryptingLog>).sealed ?? log;
const keyStoreOf = (log: EventLog): PersonalKeyStore | undefined => (log as Partial<EncryptingLog>).personalKeys;

export const ExportedEvent = z.object({
  id: z.uuid(),
  stream: z.string().min(1),
  revision: z.number().int().nonnegative(),
  type: z.string().min(1),
  data: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.iso.datetime({ offset: true }),
});
export type ExportedEvent = z.infer<typeof ExportedEvent>;

const exported = (event: RecordedEvent): ExportedEvent => ({
  id: event.id,
  stream: event.stream,
  revision: Number(event.revision),
  type: event.type,
  data: event.data,
  metadata: event.metadata,
  createdAt: event.createdAt.toISOString(),
});

/**
 * Writes every event (or one stream's) as NDJSON after a header line; returns how many events. A plain
 * export holds everything the log holds as stored (personal fields sealed), the wrapped data keys and
 * tombstones, private signing keys, the server secret and password hashes; `redact` leaves out secrets,
 * keys and personal data (see redact.ts).
 */
export const exportEvents = async (
  log: EventLog,
  out: Writable,
  options: { stream?: string; redact?: boolean } = {},
): Promise<number> => {
  const line = (event: RecordedEvent) =>
    JSON.stringify(options.redact ? redactEvent(exported(event)) : exported(event));
  let count = 0;
  const write = (text: string) =>
    out.write(`${text}\n`) ? Promise.resolve() : new Promise<void>((resolve) => out.once('drain', () => resolve()));
  const header: ExportHeader = {
    remotemcp: 'events export',
    format: 1,
    redacted: options.redact === true,
    holds: options.redact ? HOLDS_REDACTED : HOLDS_PLAIN,
  };
  await write(JSON.stringify(header));
  // Keys before events: an import stores them first, so the events it appends read back at once.
  const keys = options.redact ? undefined : keyStoreOf(log);
  for (const personalDataKey of (await keys?.exportKeys()) ?? []) await write(JSON.stringify({ personalDataKey }));
  log = sealedSource(log);
  if (options.stream) {
    for (let from = 0n; ;) {
      const page = await log.readStream(options.stream, { fromRevision: from, maxCount: 1_000 });
      for (const event of page) await write(line(event));
      count += page.length;
      if (page.length < 1_000) return count;
      from = page[page.length - 1]!.revision + 1n;
    }
  }
  let after: GlobalPosition = START;
  for (;;) {
    const page = await log.readAll({ after, maxCount: 1_000 });
    if (page.length === 0) return count;
    for (const event of page) await write(line(event));
    count += page.length;
    after = page[page.length - 1]!.position;
  }
};

export type ImportResult = { imported: number; skipped: number; streams: number };

export class ImportLineError extends Error {
  constructor(
    readonly lineNumber: number,
    detail: string,
  ) {
    super(`line ${lineNumber}: ${detail}`);
    this.name = 'ImportLineError';
  }
}

/**
 * Appends exported events with their ids, revisions and times. Re-running is safe: events a stream
 * already has (revision ≤ its version) are skipped. A stream whose export starts after revision 0
 * (retention removed its head) continues from its current version.
 */
export const importEvents = async (
  log: EventLog,
  input: Readable,
  options: { keys?: PersonalKeyStore } = {},
): Promise<ImportResult> => {
  const keyStore = options.keys ?? keyStoreOf(log);
  const versions = new Map<string, bigint | undefined>();
  const result: ImportResult = { imported: 0, skipped: 0, streams: 0 };
  let batch: ExportedEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const stream = batch[0]!.stream;
    if (!versions.has(stream)) {
      versions.set(stream, await log.streamVersion(stream));
      result.streams += 1;
    }
    const version = versions.get(stream);
    const fresh = batch.filter((event) => version === undefined || BigInt(event.revision) > version);
    result.skipped += batch.length - fresh.length;
    if (fresh.length > 0) {
      const first = BigInt(fresh[0]!.revision);
      const expectedVersion =
        version === undefined ? (first === 0n ? 'no_stream' : 'any') : version === first - 1n ? version : 'any';
      const appended = await log.append(
        stream,
        fresh.map((event) => ({
          id: event.id,
          type: event.type,
          data: event.data,
          metadata: event.metadata,
          createdAt: new Date(event.createdAt),
        })),
        { expectedVersion },
      );
      versions.set(stream, appended.nextExpectedVersion);
      result.imported += fresh.length;
    }
    batch = [];
  };
  let lineNumber = 0;
  for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
    lineNumber += 1;
    if (!text.trim()) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new ImportLineError(lineNumber, 'not JSON');
    }
    const header = ExportHeader.safeParse(parsed);
    if (header.success) {
      if (header.data.redacted)
        throw new ImportLineError(lineNumber, 'a redacted export is for reading, not for restoring: nothing imported');
      continue;
    }
    const key = PersonalDataKeyLine.safeParse(parsed);
    if (key.success) {
      if (!keyStore) throw new ImportLineError(lineNumber, 'a data key, but no key store to put it in');
      await keyStore.importKeys([key.data.personalDataKey satisfies StoredKey]);
      continue;
    }
    const event = ExportedEvent.safeParse(parsed);
    if (!event.success)
      throw new ImportLineError(
        lineNumber,
        event.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    if (batch.length > 0 && (batch[0]!.stream !== event.data.stream || batch.length >= 500)) await flush();
    batch.push(event.data);
  }
  await flush();
  return result;
};
