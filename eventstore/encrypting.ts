// Crypto-shredding as a decorator of any EventLog: the personal fields of an event (declared per event
// type by the caller: domain/personal.ts) are sealed with their subject's data key (AES-256-GCM) on
// append and opened on read. The key store is not the log (eventstore/personal-keys.ts): once a subject
// is erased its fields read as a placeholder of the same shape, so every reader still parses the event.
// Ids, types, times and every other field stay in clear, so the log keeps its shape and its indexes.
import { randomUUID } from 'node:crypto';
import {
  checkStorable,
  type EventLog,
  type NewEvent,
  type RecordedEvent,
  type StreamAppend,
  type SubscribeOptions,
} from './port.ts';
import { openGcm, sealGcm, type PersonalKeyStore } from './personal-keys.ts';

export type PersonalKind = 'text' | 'list' | 'object';
export type PersonalRule = {
  readonly subject: { readonly userId: string } | { readonly email: string } | { readonly streamPrefix: string };
  readonly fields: Readonly<Record<string, PersonalKind>>;
};

export type PersonalSchema = {
  readonly rules: Readonly<Record<string, PersonalRule>>;
  /** What an erased field reads as. */
  readonly erased: (kind: PersonalKind) => unknown;
  /** An event that erased subjects (its data lists their key subjects): caches drop their keys when seen. */
  readonly erasure: { readonly type: string; readonly subjectsField: string };
};

/** A sealed field as stored: the key id and base64url(IV ‖ ciphertext ‖ tag). */
export type Sealed = { readonly $pd: string; readonly c: string };

export const isSealed = (value: unknown): value is Sealed =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  typeof (value as Sealed).$pd === 'string' &&
  typeof (value as Sealed).c === 'string' &&
  Object.keys(value).length === 2;

const get = (value: unknown, path: readonly string[]): unknown => {
  let at = value;
  for (const key of path) {
    if (at === null || typeof at !== 'object' || Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
};

/** A copy of `value` with `path` set (objects along the path copied, the rest shared). */
const set = (value: unknown, path: readonly string[], to: unknown): unknown => {
  if (path.length === 0) return to;
  const base = value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const [key, ...rest] = path as [string, ...string[]];
  return { ...base, [key]: set((base as Record<string, unknown>)[key], rest, to) };
};

const ACTOR_EMAIL = ['actor', 'email'];
const split = (path: string) => path.split('.');
const aadOf = (eventId: string, where: 'data' | 'metadata', path: string) => `${eventId}\n${where}.${path}`;

export type EncryptingLog = EventLog & {
  /** Opens the personal fields of events read around the decorator (a raw SQL read of the log table). */
  readonly decryptEvents: (events: RecordedEvent[]) => Promise<RecordedEvent[]>;
  readonly personalKeys: PersonalKeyStore;
  /** The log underneath, as stored: personal fields sealed (exports). */
  readonly sealed: EventLog;
};

/** The events opened by `log` when it is (or wraps) the encrypting decorator; as they are otherwise. */
export const decryptEvents = (log: EventLog, events: RecordedEvent[]): Promise<RecordedEvent[]> => {
  const decrypt = (log as Partial<EncryptingLog>).decryptEvents;
  return decrypt ? decrypt(events) : Promise.resolve(events);
};

export class PersonalData {
  constructor(
    readonly keys: PersonalKeyStore,
    readonly schema: PersonalSchema,
  ) {}

  private async subjectOf(rule: PersonalRule, stream: string, data: unknown): Promise<string | undefined> {
    const s = rule.subject;
    if ('streamPrefix' in s)
      return stream.startsWith(s.streamPrefix) ? `user:${stream.slice(s.streamPrefix.length)}` : undefined;
    if ('userId' in s) {
      const id = get(data, split(s.userId));
      return typeof id === 'string' && id ? `user:${id}` : undefined;
    }
    const email = get(data, split(s.email));
    return typeof email === 'string' ? this.keys.emailSubject(email) : undefined;
  }

  /** The event with its personal fields sealed (and an id, which the seal is bound to); itself when none. */
  async seal(stream: string, event: NewEvent): Promise<NewEvent> {
    const rule = this.schema.rules[event.type];
    const actor = event.metadata?.actor as { type?: unknown; id?: unknown; email?: unknown } | undefined;
    const actorEmail = actor?.type === 'user' && typeof actor.id === 'string' && typeof actor.email === 'string';
    if (!rule && !actorEmail) return event;
    const id = event.id ?? randomUUID();
    let data = event.data;
    let metadata = event.metadata;
    let changed = false;
    // Only fields still in clear: an imported export's are sealed already (under the key they came with).
    const clear = rule
      ? Object.keys(rule.fields).filter((path) => {
          const value = get(data, split(path));
          return value !== undefined && !isSealed(value);
        })
      : [];
    const subject = rule && clear.length > 0 ? await this.subjectOf(rule, stream, data) : undefined;
    if (subject) {
      const { kid, key } = await this.keys.keyFor(subject);
      for (const path of clear) {
        const value = get(data, split(path));
        const c = sealGcm(key, Buffer.from(JSON.stringify(value)), aadOf(id, 'data', path));
        data = set(data, split(path), { $pd: kid, c } satisfies Sealed);
        changed = true;
      }
    }
    if (actorEmail && actor && !isSealed(actor.email)) {
      const { kid, key } = await this.keys.keyFor(`user:${actor.id as string}`);
      const c = sealGcm(key, Buffer.from(JSON.stringify(actor.email)), aadOf(id, 'metadata', 'actor.email'));
      metadata = set(metadata, ACTOR_EMAIL, { $pd: kid, c }) as NewEvent['metadata'];
      changed = true;
    }
    return changed ? { ...event, id, data, ...(metadata ? { metadata } : {}) } : event;
  }

  /** Seals a batch of appends; the clear text is checked storable first (the log can only see ciphertext). */
  async sealAll(appends: readonly StreamAppend[]): Promise<StreamAppend[]> {
    checkStorable(appends);
    return Promise.all(
      appends.map(async ({ stream, events }) => ({
        stream,
        events: await Promise.all(events.map((event) => this.seal(stream, event))),
      })),
    );
  }

  /** Every sealed field of an event: where it is, its kind, and the seal. */
  private sealedFields(
    event: RecordedEvent,
  ): { where: 'data' | 'metadata'; path: string; kind: PersonalKind; sealed: Sealed }[] {
    const out: { where: 'data' | 'metadata'; path: string; kind: PersonalKind; sealed: Sealed }[] = [];
    const rule = this.schema.rules[event.type];
    if (rule)
      for (const [path, kind] of Object.entries(rule.fields)) {
        const value = get(event.data, split(path));
        if (isSealed(value)) out.push({ where: 'data', path, kind, sealed: value });
      }
    const email = get(event.metadata, ACTOR_EMAIL);
    if (isSealed(email)) out.push({ where: 'metadata', path: 'actor.email', kind: 'text', sealed: email });
    return out;
  }

  /** The events with their sealed fields opened, or the erased placeholder where the key is gone. */
  async open(events: RecordedEvent[]): Promise<RecordedEvent[]> {
    const found = events.map((event) => this.sealedFields(event));
    if (found.every((fields) => fields.length === 0)) return events;
    const keys = await this.keys.keysById(found.flatMap((fields) => fields.map((field) => field.sealed.$pd)));
    return events.map((event, i) => {
      const fields = found[i]!;
      if (fields.length === 0) return event;
      let data = event.data;
      let metadata: unknown = event.metadata;
      for (const { where, path, kind, sealed } of fields) {
        const key = keys.get(sealed.$pd);
        const plain = key ? openGcm(key, sealed.c, aadOf(event.id, where, path)) : undefined;
        const value = plain ? (JSON.parse(plain.toString()) as unknown) : this.schema.erased(kind);
        if (where === 'data') data = set(data, split(path), value);
        else metadata = set(metadata, split(path), value);
      }
      return { ...event, data, metadata: metadata as RecordedEvent['metadata'] };
    });
  }

  /** Key subjects named by erasure events in this batch. */
  erasedIn(events: readonly RecordedEvent[]): string[] {
    const { type, subjectsField } = this.schema.erasure;
    return events.flatMap((event) => {
      if (event.type !== type) return [];
      const subjects = get(event.data, split(subjectsField));
      return Array.isArray(subjects) ? subjects.filter((s): s is string => typeof s === 'string') : [];
    });
  }
}

/**
 * `log` with personal fields sealed on the way in and opened on the way out. A Proxy, so the adapter's
 * own extras (PostgresEventLog.scavenge, `instanceof`) stay reachable.
 */
export const encrypting = (log: EventLog, personal: PersonalData): EncryptingLog => {
  // A method replaced on the wrapper (a test's spy) stays on the wrapper: set on the adapter, a spy that
  // calls the wrapper's method would be called by it again, without end.
  const replaced = new Map<PropertyKey, unknown>();
  return new Proxy(log, {
    set(target, property, value, receiver) {
      if (!WRAPPED.has(property)) return Reflect.set(target, property, value, receiver);
      replaced.set(property, value);
      return true;
    },
    get(target, property, receiver) {
      if (replaced.has(property)) return replaced.get(property);
      switch (property) {
        case 'append':
          return async (stream: string, events: readonly NewEvent[], options?: Parameters<EventLog['append']>[2]) => {
            const [sealed] = await personal.sealAll([{ stream, events }]);
            return target.append(stream, sealed!.events, options);
          };
        case 'appendMany':
          return async (appends: readonly StreamAppend[], options?: Parameters<EventLog['appendMany']>[1]) =>
            target.appendMany(await personal.sealAll(appends), options);
        case 'readStream':
          return async (stream: string, options?: Parameters<EventLog['readStream']>[1]) =>
            personal.open(await target.readStream(stream, options));
        case 'readAll':
          return async (options?: Parameters<EventLog['readAll']>[0]) => personal.open(await target.readAll(options));
        case 'subscribeAll':
          return (options: SubscribeOptions) =>
            target.subscribeAll({
              ...options,
              onEvents: async (events) => {
                const opened = await personal.open(events);
                // Another instance (or an import) erased these subjects: no key of theirs stays usable here.
                const erased = personal.erasedIn(events);
                if (erased.length > 0) await personal.keys.erase(erased);
                return options.onEvents(opened);
              },
            });
        case 'decryptEvents':
          return (events: RecordedEvent[]) => personal.open(events);
        case 'personalKeys':
          return personal.keys;
        case 'sealed':
          return target;
        default:
          return Reflect.get(target, property, receiver);
      }
    },
  }) as EncryptingLog;
};

const WRAPPED = new Set<PropertyKey>(['append', 'appendMany', 'readStream', 'readAll', 'subscribeAll']);
