// Sealing and opening the personal fields of events (the work of eventstore/encrypting.ts's decorator).
// An event's personal fields are sealed together under their subject's data key (AES-256-GCM, one fresh
// random IV, bound to the event id and the field list: eventstore/sealed-fields.ts). Reading opens them
// only when a reader first looks at the event's data or metadata: a projection rebuild reads every event
// and most of them (MCP messages kept for replay above all) are never looked at by a given projection.
import { randomUUID } from 'node:crypto';
import { checkStorable, type NewEvent, type RecordedEvent, type StreamAppend } from './port.ts';
import { openGcm, sealGcm, type DataKey, type PersonalKeyStore } from './personal-keys.ts';
import { mayHoldUnstorableJson } from './storable.ts';
import {
  ENVELOPE,
  ENVELOPE_VERSION,
  envelopeAad,
  envelopeAadV2,
  fieldAad,
  getPath,
  isSealed,
  isSealedFields,
  setPath,
  unsetPath,
  type Sealed,
  type SealedFields,
} from './sealed-fields.ts';

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

type Field = {
  readonly path: string;
  readonly parts: readonly string[];
  readonly kind: PersonalKind;
  readonly top: boolean;
};
type Compiled = {
  readonly rule: PersonalRule;
  readonly fields: readonly Field[];
  /** Every field is a top-level one: read and removed without walking paths. */
  readonly flat: boolean;
  /** The AAD tail when every field is sealed (the usual case), computed once. */
  readonly allPaths: readonly string[];
  /** Where the subject's user id or email is in the data (none for a stream prefix). */
  readonly subjectPath: readonly string[];
};
/** One event on its way to being sealed: what seal found in clear, before the keys are known. */
type Sealing = {
  readonly stream: string;
  readonly event: NewEvent;
  readonly compiled: Compiled | null;
  readonly clear: readonly Field[];
  /** The JSON text to seal: of the clear values as one array, or one per field beside an imported envelope. */
  readonly texts: readonly string[];
  readonly actorSubject: string | undefined;
  readonly actorText: string | undefined;
};
/** What one stored event holds sealed. */
type Plan = { envelope?: SealedFields; fields: (Field & { sealed: Sealed })[]; actorEmail?: Sealed };

const ACTOR_EMAIL = ['actor', 'email'];
const split = (path: string) => path.split('.');
type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

type Opened = Pick<RecordedEvent, 'data' | 'metadata'>;

/** A plaintext this instance sealed, kept to open its ciphertext without the cipher (PersonalData.justSealed). */
type JustSealed = {
  readonly c: string;
  readonly kid: string;
  readonly aad: string;
  readonly plain: string;
};

/**
 * Where a ciphertext is kept in PersonalData.justSealed: its end, the GCM tag in base64url (16 random-looking
 * bytes). Hashing the whole text, up to kilobytes, cost every open of a replay; the entry's own `c` is
 * compared in full on a hit.
 */
const keptKey = (c: string): string => c.slice(-22);

/** How many recent seals PersonalData keeps: its own projections read what it appended within moments. */
const JUST_SEALED = 2_048;
/**
 * And at most this many characters (plaintexts and ciphertexts together): one user's large results or
 * notes must not make them hold hundreds of megabytes. A plaintext over a tenth of it is not kept at all.
 */
const JUST_SEALED_CHARS = 8 * 1024 * 1024;

/** A copy of `data` without these fields (one copy when they are all top-level). */
const withoutFields = (data: Json, fields: readonly Field[], flat: boolean): Json => {
  if (!flat) return fields.reduce<Json>((at, field) => unsetPath(at, field.parts) as Json, { ...data });
  const out: Json = {};
  outer: for (const name in data) {
    for (let i = 0; i < fields.length; i += 1) if (fields[i]!.path === name) continue outer;
    out[name] = data[name];
  }
  return out;
};

/** How a sealed event is opened when first read: by its PersonalData, with the keys of its page. */
type Opener = { openEvent(event: RecordedEvent, keys: Map<string, DataKey | null>): Opened };

/**
 * A sealed event as readers get it: the stored event's clear fields, and `data` and `metadata` computed
 * when first read, then kept. One object per event (the stored event, its opener and its page's keys in
 * private fields, which neither a spread nor `for…in` sees): a replay that reads no data pays this alone.
 */
class SealedEvent {
  readonly id: string;
  readonly stream: string;
  readonly revision: RecordedEvent['revision'];
  readonly position: RecordedEvent['position'];
  readonly type: string;
  readonly createdAt: RecordedEvent['createdAt'];
  #opened: Opened | undefined;
  readonly #stored: RecordedEvent;
  readonly #opener: Opener;
  readonly #keys: Map<string, DataKey | null>;
  /** The key store's `forgotten` count when this was made. */
  readonly #forgotten: number;

  constructor(stored: RecordedEvent, opener: Opener, keys: Map<string, DataKey | null>, forgotten: number) {
    this.id = stored.id;
    this.stream = stored.stream;
    this.revision = stored.revision;
    this.position = stored.position;
    this.type = stored.type;
    this.createdAt = stored.createdAt;
    this.#stored = stored;
    this.#opener = opener;
    this.#keys = keys;
    this.#forgotten = forgotten;
  }

  /** Whether another reader may take this opening: no key has been forgotten since it was made. */
  sharedAt(forgotten: number): boolean {
    return this.#forgotten === forgotten;
  }

  get data(): RecordedEvent['data'] {
    return (this.#opened ??= this.#opener.openEvent(this.#stored, this.#keys)).data;
  }

  get metadata(): RecordedEvent['metadata'] {
    return (this.#opened ??= this.#opener.openEvent(this.#stored, this.#keys)).metadata;
  }
}
// `data` and `metadata` are accessors on the prototype: an own accessor per event (an object literal with
// getters, or defineProperty) cost ~2 µs an event in V8, as much as a plain replay spends on the whole
// event, while a prototype's costs nothing until read. Enumerable, so `for…in` sees them; readers that copy
// an event name `data` and `metadata` (app/redact.ts), as a spread would miss them.
for (const name of ['data', 'metadata']) Object.defineProperty(SealedEvent.prototype, name, { enumerable: true });

export class PersonalData {
  private readonly compiled = new Map<string, Compiled | null>();
  /**
   * Each event read, opened (lazily), with the key store's `forgotten` count then. Every subscription of
   * the log (a dozen projections, the MCP feeds) is handed the same event objects from the tail's window;
   * they share one opening instead of each planning and deciphering every event. Kept only while no key
   * has been forgotten since and every key it needs was known, so a reuse opens exactly as a new one would.
   */
  private readonly openedEvents = new WeakMap<RecordedEvent, SealedEvent>();

  /**
   * The plaintexts this instance sealed last, by ciphertext. Every event it appends is read back at once by
   * its own projections, and a tool call's audit event was deciphered by one of them on every call. An
   * entry opens only the same ciphertext under the same key id and additional data, while the page's key
   * is live; whenever the key store forgets keys, all are dropped (the constructor's listener): never
   * where the cipher would not open, and to the very text the cipher would give.
   */
  private readonly justSealed = new Map<string, JustSealed>();
  /** The characters `justSealed` holds (see JUST_SEALED_CHARS). */
  private justSealedChars = 0;
  /** Seals opened from `justSealed` (tests and diagnosis). */
  readonly reuse = { opened: 0 };
  /** How many plaintexts are kept now (tests and diagnosis). */
  get keptPlaintexts(): number {
    return this.justSealed.size;
  }

  constructor(
    readonly keys: PersonalKeyStore,
    readonly schema: PersonalSchema,
  ) {
    // An erasure (here or seen from another instance) drops every kept plaintext at once, not at next use.
    keys.onForget(() => {
      this.justSealed.clear();
      this.justSealedChars = 0;
    });
  }

  /** sealGcm, the plaintext kept for this instance's own readers (see justSealed). */
  private sealKept(key: { kid: string; key: DataKey }, plain: string, aad: string): string {
    const c = sealGcm(key.key, plain, aad);
    const chars = plain.length + c.length;
    if (chars > JUST_SEALED_CHARS / 10) return c;
    const { justSealed } = this;
    const at = keptKey(c);
    const replaced = justSealed.get(at);
    if (replaced) this.justSealedChars -= replaced.plain.length + replaced.c.length;
    justSealed.set(at, { c, kid: key.kid, aad, plain });
    this.justSealedChars += chars;
    // The oldest go first (a Map keeps insertion order).
    while (justSealed.size > JUST_SEALED || this.justSealedChars > JUST_SEALED_CHARS) {
      const [oldest, entry] = justSealed.entries().next().value!;
      justSealed.delete(oldest);
      this.justSealedChars -= entry.plain.length + entry.c.length;
    }
    return c;
  }

  /** The JSON value sealed in `sealed`, or undefined when its key is gone or the seal does not open. */
  private openWith(keys: Map<string, DataKey | null>, sealed: Sealed | SealedFields, aad: string): unknown {
    const key = keys.get(sealed.$pd);
    if (!key) return undefined;
    // (A replay in a process that seals nothing, the CLI's, never looks.)
    const kept = this.justSealed.size === 0 ? undefined : this.justSealed.get(keptKey(sealed.c));
    if (kept && kept.c === sealed.c && kept.kid === sealed.$pd && kept.aad === aad) {
      this.reuse.opened += 1;
      return JSON.parse(kept.plain) as unknown;
    }
    const plain = openGcm(key, sealed.c, aad);
    return plain ? (JSON.parse(plain.toString()) as unknown) : undefined;
  }

  private ruleOf(type: string): Compiled | null {
    let found = this.compiled.get(type);
    if (found === undefined) {
      const rule = Object.hasOwn(this.schema.rules, type) ? this.schema.rules[type] : undefined;
      const fields = rule
        ? Object.entries(rule.fields).map(([path, kind]) => ({
            path,
            parts: split(path),
            kind,
            top: !path.includes('.'),
          }))
        : [];
      const s = rule?.subject;
      found = rule
        ? {
            rule,
            fields,
            flat: fields.every((field) => field.top),
            allPaths: fields.map((field) => field.path),
            subjectPath: !s || 'streamPrefix' in s ? [] : split('userId' in s ? s.userId : s.email),
          }
        : null;
      this.compiled.set(type, found);
    }
    return found;
  }

  /** The key subject; a promise only for an address (its keyed hash needs the server secret once). */
  private subjectOf(compiled: Compiled, stream: string, data: unknown): string | undefined | Promise<string> {
    const s = compiled.rule.subject;
    if ('streamPrefix' in s)
      return stream.startsWith(s.streamPrefix) ? `user:${stream.slice(s.streamPrefix.length)}` : undefined;
    const value = getPath(data, compiled.subjectPath);
    if ('userId' in s) return typeof value === 'string' && value ? `user:${value}` : undefined;
    return typeof value === 'string' ? this.keys.emailSubject(value) : undefined;
  }

  /**
   * The event with its personal fields sealed (and an id, which the seal is bound to); itself when none.
   * Synchronous when the keys it needs are cached (the usual case): no promise per event, and the caller's
   * append goes on in the same turn. A promise only when a key or an address's subject must be looked up.
   */
  seal(stream: string, event: NewEvent): NewEvent | Promise<NewEvent> {
    const sealing = this.prepare(stream, event);
    return sealing ? this.finish(sealing) : event;
  }

  /** What `event` has to seal, its JSON text made once; undefined when nothing. */
  private prepare(stream: string, event: NewEvent): Sealing | undefined {
    const compiled = this.ruleOf(event.type);
    const actor = event.metadata?.actor as { type?: unknown; id?: unknown; email?: unknown } | undefined;
    // The actor's email, under the actor's key (a string: one sealed already, by an import, is an object).
    const actorSubject =
      actor?.type === 'user' && typeof actor.id === 'string' && typeof actor.email === 'string'
        ? `user:${actor.id}`
        : undefined;
    if (!compiled && !actorSubject) return undefined;
    const data = event.data;
    // Only fields still in clear: an imported export's are sealed already (under the key they came with).
    const clear: Field[] = [];
    const values: unknown[] = [];
    if (compiled && isObject(data))
      for (const field of compiled.fields) {
        const value = field.top ? data[field.path] : getPath(data, field.parts);
        if (value === undefined || isSealed(value)) continue;
        clear.push(field);
        values.push(value);
      }
    const texts =
      clear.length === 0
        ? []
        : isObject(data) && data[ENVELOPE] !== undefined
          ? values.map((value) => JSON.stringify(value))
          : [JSON.stringify(values)];
    const actorText = actorSubject === undefined ? undefined : JSON.stringify(actor!.email);
    return { stream, event, compiled, clear, texts, actorSubject, actorText };
  }

  /** Whether what `sealing` will seal may hold unstorable text (a scan of its JSON, see storable.ts). */
  private static suspicious({ texts, actorText }: Sealing): boolean {
    for (const text of texts) if (mayHoldUnstorableJson(text)) return true;
    return actorText !== undefined && mayHoldUnstorableJson(actorText);
  }

  /**
   * Seals what `prepare` found. The data key's subject is found here, not in prepare: an address's keyed
   * hash reads the server secret, which sealAll's storage check must come before.
   */
  private finish(sealing: Sealing): NewEvent | Promise<NewEvent> {
    const { stream, event, compiled, clear, actorSubject } = sealing;
    const subject =
      compiled && clear.length > 0 && isObject(event.data) ? this.subjectOf(compiled, stream, event.data) : undefined;
    if (typeof subject !== 'object') {
      const key = subject === undefined ? undefined : this.keys.cachedKey(subject);
      const actorKey = actorSubject === undefined ? undefined : this.keys.cachedKey(actorSubject);
      if ((subject === undefined || key) && (actorSubject === undefined || actorKey))
        return this.sealWith(sealing, key, actorKey);
    }
    return this.sealLookingUp(sealing, subject);
  }

  /** seal's slow path: the subject's and the actor's keys looked up (or created) first. */
  private async sealLookingUp(sealing: Sealing, found: string | undefined | Promise<string>): Promise<NewEvent> {
    const subject = await found;
    const key = subject === undefined ? undefined : await this.keys.keyFor(subject);
    const actorKey = sealing.actorSubject === undefined ? undefined : await this.keys.keyFor(sealing.actorSubject);
    return this.sealWith(sealing, key, actorKey);
  }

  private sealWith(
    { stream, event, compiled, clear, texts, actorText }: Sealing,
    key: { kid: string; key: DataKey } | undefined,
    actorKey: { kid: string; key: DataKey } | undefined,
  ): NewEvent {
    const id = event.id ?? randomUUID();
    let data = event.data;
    let metadata = event.metadata;
    let changed = false;
    if (key && compiled && isObject(data) && clear.length > 0) {
      const { kid } = key;
      if (data[ENVELOPE] === undefined) {
        const paths = clear.length === compiled.fields.length ? compiled.allPaths : clear.map((field) => field.path);
        // The personal part is encoded once (a JSON array of the values), sealed, and base64url'd once.
        const c = this.sealKept(key, texts[0]!, envelopeAadV2(stream, id, paths));
        data = withoutFields(data, clear, compiled.flat);
        (data as Json)[ENVELOPE] = { $pd: kid, v: ENVELOPE_VERSION, f: paths, c } satisfies SealedFields;
      } else
        // An imported event with an envelope already and a field in clear besides: that field alone.
        clear.forEach((field, i) => {
          const c = this.sealKept(key, texts[i]!, fieldAad(id, 'data', field.path));
          data = setPath(data, field.parts, { $pd: kid, c } satisfies Sealed);
        });
      changed = true;
    }
    if (actorKey && actorText !== undefined) {
      const c = this.sealKept(actorKey, actorText, fieldAad(id, 'metadata', 'actor.email'));
      metadata = setPath(metadata, ACTOR_EMAIL, { $pd: actorKey.kid, c }) as NewEvent['metadata'];
      changed = true;
    }
    return changed ? { ...event, id, data, ...(metadata ? { metadata } : {}) } : event;
  }

  /**
   * Seals a batch of appends. An array when every key was cached, so the caller's append is not put off to
   * a later turn. The log checks that what it is given is storable (port.ts), but it sees only ciphertext
   * of what is sealed: that is checked here, by a scan of the JSON text made for the cipher, and every
   * value walked (checkStorable) only when the scan finds a suspicious escape, before any key is looked up.
   */
  sealAll<A extends StreamAppend>(appends: readonly A[]): A[] | Promise<A[]> {
    let suspicious = false;
    const prepared = appends.map(({ stream, events }) =>
      events.map((event) => {
        const sealing = this.prepare(stream, event);
        if (sealing && !suspicious) suspicious = PersonalData.suspicious(sealing);
        return sealing;
      }),
    );
    if (suspicious) checkStorable(appends);
    let pending = false;
    const sealed = appends.map((append, a) => {
      const events = append.events.map((event, e) => {
        const sealing = prepared[a]![e];
        const out = sealing ? this.finish(sealing) : event;
        if (out instanceof Promise) pending = true;
        return out;
      });
      return { ...append, events };
    });
    if (!pending) return sealed as A[];
    return Promise.all(sealed.map(async (append) => ({ ...append, events: await Promise.all(append.events) }) as A));
  }

  /** What an event holds sealed (worked out when the event is first read); undefined when nothing. */
  private plan(event: RecordedEvent): Plan | undefined {
    let plan: Plan | undefined;
    const compiled = this.ruleOf(event.type);
    if (compiled) {
      const envelope = isObject(event.data) ? event.data[ENVELOPE] : undefined;
      if (isSealedFields(envelope)) plan = { envelope, fields: [] };
      for (const field of compiled.fields) {
        const sealed = getPath(event.data, field.parts);
        if (!isSealed(sealed)) continue;
        (plan ??= { fields: [] }).fields.push({ ...field, sealed });
      }
    }
    const email = getPath(event.metadata, ACTOR_EMAIL);
    if (isSealed(email)) (plan ??= { fields: [] }).actorEmail = email;
    return plan;
  }

  /**
   * Adds the key ids an event may need to `kids`; false when it holds nothing sealed. Only looks
   * where a seal can be ($pd of the envelope, of each declared field, of the actor's email): a page of a
   * replay pays this and a wrapper per event, not the envelope's checks, until an event's data is read.
   */
  private kidsOf(event: RecordedEvent, kids: Set<string>): boolean {
    let found = false;
    const compiled = this.ruleOf(event.type);
    const data = event.data;
    if (compiled && isObject(data)) {
      const envelope = data[ENVELOPE];
      if (isObject(envelope) && typeof envelope.$pd === 'string') {
        kids.add(envelope.$pd);
        found = true;
      }
      for (const field of compiled.fields) {
        const value = field.top ? data[field.path] : getPath(data, field.parts);
        if (isObject(value) && typeof value.$pd === 'string') {
          kids.add(value.$pd);
          found = true;
        }
      }
    }
    const actor = event.metadata?.actor;
    if (isObject(actor) && isObject(actor.email) && typeof actor.email.$pd === 'string') {
      kids.add(actor.email.$pd);
      found = true;
    }
    return found;
  }

  private kindOf(type: string, path: string): PersonalKind {
    return this.ruleOf(type)?.rule.fields[path] ?? 'text';
  }

  private openNow(event: RecordedEvent, plan: Plan, keys: Map<string, DataKey | null>): Opened {
    let data = event.data;
    let metadata: unknown = event.metadata;
    const { envelope } = plan;
    if (envelope) {
      const aad =
        envelope.v === ENVELOPE_VERSION
          ? envelopeAadV2(event.stream, event.id, envelope.f)
          : envelopeAad(event.id, envelope.f);
      const values = this.openWith(keys, envelope, aad);
      const opened = Array.isArray(values) && values.length === envelope.f.length ? values : undefined;
      const out: Json = {};
      const stored = data as Json;
      for (const name in stored) if (name !== ENVELOPE) out[name] = stored[name];
      const { f } = envelope;
      for (let i = 0; i < f.length; i += 1)
        if (!f[i]!.includes('.')) out[f[i]!] = opened ? opened[i] : this.schema.erased(this.kindOf(event.type, f[i]!));
      data = out;
      for (let i = 0; i < f.length; i += 1)
        if (f[i]!.includes('.'))
          data = setPath(data, split(f[i]!), opened ? opened[i] : this.schema.erased(this.kindOf(event.type, f[i]!)));
    }
    for (const { path, parts, kind, sealed } of plan.fields) {
      const value = this.openWith(keys, sealed, fieldAad(event.id, 'data', path));
      data = setPath(data, parts, value === undefined ? this.schema.erased(kind) : value);
    }
    if (plan.actorEmail) {
      const value = this.openWith(keys, plan.actorEmail, fieldAad(event.id, 'metadata', 'actor.email'));
      metadata = setPath(metadata, ACTOR_EMAIL, value === undefined ? this.schema.erased('text') : value);
    }
    return { data, metadata: metadata as RecordedEvent['metadata'] };
  }

  /**
   * The events with their sealed fields opened, or the erased placeholder where the key is gone. The keys
   * of a whole page are looked up at once; each event is deciphered when its data is first read.
   * `shared: false` for events no other reader is handed (a fresh read of the log): an entry per event in
   * the sharing WeakMap cost a replay more than the rest of its opening (ephemerons slow every GC).
   */
  async open(events: RecordedEvent[], { shared = true }: { shared?: boolean } = {}): Promise<RecordedEvent[]> {
    const forgotten = this.keys.forgotten;
    const kids = new Set<string>();
    let reused = 0;
    // Per event: an opening shared by another reader, `null` when it holds seals, else itself.
    const found = events.map((event): RecordedEvent | null => {
      const known = shared ? this.openedEvents.get(event) : undefined;
      if (known?.sharedAt(forgotten)) {
        reused += 1;
        return known;
      }
      return this.kidsOf(event, kids) ? null : event;
    });
    if (kids.size === 0 && reused === 0) return events;
    const keys = kids.size === 0 ? new Map<string, DataKey | null>() : await this.keys.keysById(kids);
    // Keys found now, and none forgotten while they were looked up: the openings may be shared. (One
    // forgotten meanwhile: what was reused above may not open any more; everything is looked at again.)
    const shareable = shared && this.keys.forgotten === forgotten;
    if (!shareable && reused > 0) return this.open(events);
    // Shared only when every key the event needs was known (an unknown one may arrive later, with an import).
    let everyKey = true;
    for (const key of keys.values()) if (!key) everyKey = false;
    return events.map((event, i) => {
      const known = found[i];
      if (known) return known;
      const opened = new SealedEvent(event, this, keys, forgotten);
      if (shareable && (everyKey || this.hasEveryKey(event, keys))) this.openedEvents.set(event, opened);
      return opened;
    });
  }

  /** An event with some seals whose key is unknown or erased: whether its own keys are all there. */
  private hasEveryKey(event: RecordedEvent, keys: Map<string, DataKey | null>): boolean {
    const kids = new Set<string>();
    this.kidsOf(event, kids);
    for (const kid of kids) if (!keys.get(kid)) return false;
    return true;
  }

  /** Opens a sealed event (SealedEvent calls it when its data or metadata is first read). */
  openEvent(event: RecordedEvent, keys: Map<string, DataKey | null>): Opened {
    const plan = this.plan(event);
    return plan ? this.openNow(event, plan, keys) : { data: event.data, metadata: event.metadata };
  }

  /** Key subjects named by erasure events in this batch. */
  erasedIn(events: readonly RecordedEvent[]): string[] {
    const { type, subjectsField } = this.schema.erasure;
    return events.flatMap((event) => {
      if (event.type !== type) return [];
      const subjects = getPath(event.data, split(subjectsField));
      return Array.isArray(subjects) ? subjects.filter((s): s is string => typeof s === 'string') : [];
    });
  }
}
