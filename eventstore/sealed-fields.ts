// How sealed personal fields sit inside a stored event (eventstore/encrypting.ts seals and opens them).
// Two shapes are read:
// - one envelope per event, `data.$sealed = { $pd: kid, f: [paths], c }`: every personal field of the
//   event sealed together (one cipher, one IV, one tag), the fields themselves removed. Written since
//   the envelope exists, because a cipher per field cost more than the fields;
// - one seal per field, `{ $pd: kid, c }` in place of the value: logs written before, and the actor's
//   email in metadata (its key may be another user's).

/** A field sealed on its own: the key id and base64url(IV ‖ ciphertext ‖ tag) of its JSON. */
export type Sealed = { readonly $pd: string; readonly c: string };
/**
 * Every personal field of one event sealed together: `c` opens to the JSON array of their values, in `f`'s
 * order. `v` is the format: absent in the first (bound to the event id and the field list), 2 since the
 * stream is bound too (envelopeAad).
 */
export type SealedFields = {
  readonly $pd: string;
  readonly v?: 2;
  readonly f: readonly string[];
  readonly c: string;
};
export const ENVELOPE_VERSION = 2;

/** Where the envelope sits in an event's data. */
export const ENVELOPE = '$sealed';

export const isSealed = (value: unknown): value is Sealed =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  typeof (value as Sealed).$pd === 'string' &&
  typeof (value as Sealed).c === 'string' &&
  Object.keys(value).length === 2;

export const isSealedFields = (value: unknown): value is SealedFields =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  typeof (value as SealedFields).$pd === 'string' &&
  typeof (value as SealedFields).c === 'string' &&
  Array.isArray((value as SealedFields).f) &&
  (value as SealedFields).f.every((path) => typeof path === 'string') &&
  ((value as SealedFields).v === undefined
    ? Object.keys(value).length === 3
    : (value as SealedFields).v === ENVELOPE_VERSION && Object.keys(value).length === 4);

/**
 * What a seal is bound to (GCM additional data): the event id and where the fields were. A seal moved to
 * another event, another field, or given another field list does not open.
 */
export const fieldAad = (eventId: string, where: 'data' | 'metadata', path: string): string =>
  `${eventId}\n${where}.${path}`;
export const envelopeAad = (eventId: string, paths: readonly string[]): string =>
  `${eventId}\ndata\n${paths.join('\n')}`;
/** Format 2: the stream as well (an event id is unique, but a copy under another stream must not open either). */
export const envelopeAadV2 = (stream: string, eventId: string, paths: readonly string[]): string =>
  `v2\n${stream}\n${eventId}\ndata\n${paths.join('\n')}`;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export const getPath = (value: unknown, path: readonly string[]): unknown => {
  let at = value;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
};

/** A copy of `value` with `path` set (objects along the path copied, the rest shared). */
export const setPath = (value: unknown, path: readonly string[], to: unknown): unknown => {
  if (path.length === 0) return to;
  const base = isObject(value) ? value : {};
  const [key, ...rest] = path as [string, ...string[]];
  return { ...base, [key]: setPath(base[key], rest, to) };
};

/** A copy of `value` without `path` (objects along the path copied, the rest shared). */
export const unsetPath = (value: unknown, path: readonly string[]): unknown => {
  if (!isObject(value) || path.length === 0) return value;
  const [key, ...rest] = path as [string, ...string[]];
  if (!(key in value)) return value;
  if (rest.length > 0) return { ...value, [key]: unsetPath(value[key], rest) };
  const { [key]: _removed, ...others } = value;
  return others;
};
