// Crypto-shredding as a decorator of any EventLog: the personal fields of an event (declared per event
// type by the caller: domain/personal.ts) are sealed with their subject's data key (AES-256-GCM) on
// append and opened on read. The key store is not the log (eventstore/personal-keys.ts): once a subject
// is erased its fields read as a placeholder of the same shape, so every reader still parses the event.
// Ids, types, times and every other field stay in clear, so the log keeps its shape and its indexes.
import type { EventLog, ExpectedAppend, NewEvent, RecordedEvent, StreamAppend, SubscribeOptions } from './port.ts';
import type { PersonalData } from './personal-data.ts';
import type { PersonalKeyStore } from './personal-keys.ts';

export { PersonalData, type PersonalKind, type PersonalRule, type PersonalSchema } from './personal-data.ts';
export { isSealed, isSealedFields, type Sealed, type SealedFields } from './sealed-fields.ts';

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
            const batch = personal.sealAll([{ stream, events }]);
            const [sealed] = batch instanceof Promise ? await batch : batch;
            return target.append(stream, sealed!.events, options);
          };
        // sealAll is synchronous when every key is cached: not awaited then, so the append starts in this
        // turn (a promise per batch less, and a group commit's batch goes out without a detour).
        case 'appendMany':
          return async (appends: readonly StreamAppend[], options?: Parameters<EventLog['appendMany']>[1]) => {
            const sealed = personal.sealAll(appends);
            return target.appendMany(sealed instanceof Promise ? await sealed : sealed, options);
          };
        case 'appendEach':
          return async (appends: readonly ExpectedAppend[]) => {
            const sealed = personal.sealAll(appends);
            return target.appendEach(sealed instanceof Promise ? await sealed : sealed);
          };
        // A read's events go to this caller alone (PostgreSQL and KurrentDB build them per read): none to share.
        case 'readStream':
          return async (stream: string, options?: Parameters<EventLog['readStream']>[1]) =>
            personal.open(await target.readStream(stream, options), UNSHARED);
        case 'readAll':
          return async (options?: Parameters<EventLog['readAll']>[0]) =>
            personal.open(await target.readAll(options), UNSHARED);
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

const UNSHARED = { shared: false } as const;
const WRAPPED = new Set<PropertyKey>(['append', 'appendMany', 'appendEach', 'readStream', 'readAll', 'subscribeAll']);
