// Text the databases can store. PostgreSQL refuses U+0000 in `text` and `\u0000` in `jsonb`, and an
// unpaired UTF-16 surrogate (U+D800–U+DFFF alone) has no UTF-8 encoding (RFC 3629 §3) and is refused
// as a `jsonb` escape. Any JSON a client sends may hold either (RFC 8259 §8.2 allows them in strings).
// The event log refuses such events (port.ts, UnstorableEventError); callers pick, per kind of data,
// whether to refuse the input (data stored faithfully: memory, names, client metadata) or to store a
// copy with U+FFFD (REPLACEMENT CHARACTER) in their place (audit summaries, read-model text, replay).

/** True when PostgreSQL can store the string as `text` and inside `jsonb`. */
export const isStorableText = (text: string): boolean => !text.includes('\0') && text.isWellFormed();

/** The string with every U+0000 and unpaired surrogate replaced by U+FFFD (itself when already storable). */
export const toStorableText = (text: string): string =>
  isStorableText(text) ? text : text.toWellFormed().replaceAll('\0', '\uFFFD');

const isPlainObject = (value: object): value is Record<string, unknown> => {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/** Whether every string of a JSON-like value (values and keys) is storable; builds no paths. */
const isStorableValue = (value: unknown): boolean => {
  if (typeof value === 'string') return isStorableText(value);
  if (Array.isArray(value)) {
    for (const item of value) if (!isStorableValue(item)) return false;
    return true;
  }
  if (value && typeof value === 'object' && isPlainObject(value)) {
    for (const key in value) if (!isStorableText(key) || !isStorableValue(value[key])) return false;
  }
  return true;
};

/** JSON-style path of the first unstorable string (a value or a key) in a JSON-like value, if any. */
export const findUnstorable = (value: unknown, path = '$'): string | undefined =>
  isStorableValue(value) ? undefined : pathOfUnstorable(value, path);

/** findUnstorable's search, run only when there is something to find (it builds a path per member). */
const pathOfUnstorable = (value: unknown, path: string): string | undefined => {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const found = pathOfUnstorable(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object' && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const at = `${path}.${isStorableText(key) ? key : JSON.stringify(key)}`;
      if (!isStorableText(key)) return at;
      const found = pathOfUnstorable(item, at);
      if (found) return found;
    }
  }
  return undefined;
};

/**
 * A copy of a JSON-like value with U+FFFD for every U+0000 and unpaired surrogate, in values and keys;
 * the value itself when nothing needed replacing (so the common case allocates nothing). Only plain
 * objects and arrays are entered: Dates, Buffers and other instances are left as they are.
 */
export const toStorable = <T>(value: T): T => (isStorableValue(value) ? value : (replace(value) as T));

const replace = (value: unknown): unknown => {
  if (typeof value === 'string') return toStorableText(value);
  if (Array.isArray(value)) return value.map(replace);
  if (value && typeof value === 'object' && isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [toStorableText(key), replace(item)]));
  return value;
};

/**
 * Whether JSON text (JSON.stringify's output) may hold an unstorable string. JSON.stringify writes U+0000
 * as `\u0000` and an unpaired surrogate as `\udXXX` (ES2019 well-formed JSON.stringify), while a valid pair
 * stays as raw characters: so a JSON text without such an escape is storable. A hit may be a false alarm
 * (the user typed a backslash and `u0000`); the caller then checks the values with findUnstorable.
 */
export const mayHoldUnstorableJson = (json: string): boolean => UNSTORABLE_ESCAPE.test(json);
const UNSTORABLE_ESCAPE = /\\u(?:0000|d[89a-f])/i;
