// `events export --redact`: an export that can be handed to someone else. Secrets (signing keys, the server
// secret, password and token hashes) and personal data (emails, names, addresses, memory contents, tool
// arguments, MCP messages) are replaced by a marker; ids, types, times, stream names and outcomes stay,
// so the history keeps its shape. A redacted export is for reading, not for restoring: it has no keys.

import { isSealed, isSealedFields } from '../eventstore/encrypting.ts';

export const REDACTED = '[redacted]';

/** Fields holding key material or credential hashes: never leave the server in a redacted export. */
const SECRET_FIELDS = new Set([
  'privateJwk',
  'secret',
  'passwordHash',
  'secretHash',
  'registrationTokenHash',
  'codeHash',
  'refreshHash',
  'previousRefreshHash',
  'deviceTokenHash',
]);

/** Fields holding what a person typed or what identifies them (GDPR Art. 4(1) personal data). */
const PERSONAL_FIELDS = new Set([
  'email',
  'name',
  'displayName',
  'ip',
  'userAgent',
  'title',
  'content',
  'tags',
  'entities',
  'observations',
  'contents',
  'additions',
  'deletions',
  'relations',
  'names',
  'arguments',
  'message',
  'initializeParams',
  'reason',
  'error',
]);

const redactValue = (value: unknown): unknown => {
  // A sealed personal field (eventstore/encrypting.ts), whatever its name: no ciphertext leaves either.
  if (isSealed(value) || isSealedFields(value)) return REDACTED;
  if (Array.isArray(value)) return value.map(redactValue);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_FIELDS.has(key) || PERSONAL_FIELDS.has(key)) out[key] = REDACTED;
    else out[key] = redactValue(inner);
  }
  return out;
};

/** The event's data and metadata with secrets and personal fields replaced; everything else as it was. */
export const redactEvent = <E extends { data: unknown; metadata: Record<string, unknown> }>(event: E): E => ({
  ...event,
  data: redactValue(event.data),
  metadata: redactValue(event.metadata) as Record<string, unknown>,
});
