// Which fields of which events hold personal data (GDPR Art. 4(1)), and whose they are. Pure data: the
// event log decorator (eventstore/encrypting.ts) encrypts these fields with their subject's key on append
// and decrypts them on read; erasing a user destroys the key, so every copy reads as ERASED from then on.
// Ids, event types, times and outcomes stay in clear: the audit keeps its shape after an erasure.

/** What an erased field reads as, by the shape of the field (so the event still parses). */
export type PersonalKind = 'text' | 'list' | 'object';

/**
 * Whose key encrypts an event's personal fields:
 * - `userId`: the dotted path of a data field holding the user id;
 * - `email`: the dotted path of a data field holding an email (sign-in attempts name accounts that may
 *   not exist; the key is per address, and erasing a user also erases the key of their address);
 * - `streamPrefix`: the user id is the rest of the stream name.
 */
export type PersonalSubject =
  { readonly userId: string } | { readonly email: string } | { readonly streamPrefix: string };

export type PersonalRule = {
  readonly subject: PersonalSubject;
  /** Dotted path in the event's data → its kind. */
  readonly fields: Readonly<Record<string, PersonalKind>>;
};

/** An erased text field, and the name the read models show for an erased user. */
export const ERASED = '[erased]';
export const ERASED_USER = 'erased user';
/** An erased user's email in the `users` read model: unique per user, never deliverable (RFC 2606 .invalid). */
export const erasedEmail = (userId: string): string => `erased-${userId}@erased.invalid`;
export const ERASED_OBJECT: Readonly<Record<string, unknown>> = Object.freeze({ erased: true });

export const erasedValue = (kind: PersonalKind): unknown =>
  kind === 'text' ? ERASED : kind === 'list' ? [] : { ...ERASED_OBJECT };

const byUser = (fields: PersonalRule['fields']): PersonalRule => ({ subject: { userId: 'userId' }, fields });
const byEmail = (fields: PersonalRule['fields']): PersonalRule => ({ subject: { email: 'email' }, fields });

/** The decision, event type by event type (README "Personal data and erasure" lists it for people). */
export const PERSONAL_FIELDS: Readonly<Record<string, PersonalRule>> = {
  // users: the address and the name; a disable reason is typed by an admin about this person.
  UserCreated: byUser({ email: 'text', name: 'text' }),
  UserDisabled: byUser({ reason: 'text' }),
  // sign-ins: the address tried and where from.
  SignInFailed: byEmail({ email: 'text', ip: 'text' }),
  SignInThrottled: byEmail({ email: 'text', ip: 'text' }),
  AdminLoginFailed: byEmail({ email: 'text', ip: 'text', subject: 'object' }),
  AdminLoginLockedOut: byEmail({ email: 'text', ip: 'text', subject: 'object' }),
  LoginFailed: byEmail({ email: 'text' }),
  BrowserSessionStarted: byUser({ ip: 'text', userAgent: 'text' }),
  // memory: everything the user stored.
  MemoryStored: byUser({ title: 'text', content: 'text', tags: 'list' }),
  MemoryUpdated: byUser({ title: 'text', content: 'text', tags: 'list' }),
  MemoryEntitiesCreated: byUser({ entities: 'list' }),
  MemoryObservationsAdded: byUser({ additions: 'list' }),
  MemoryEntitiesDeleted: byUser({ names: 'list' }),
  MemoryObservationsDeleted: byUser({ deletions: 'list' }),
  MemoryRelationsCreated: byUser({ relations: 'list' }),
  MemoryRelationsDeleted: byUser({ relations: 'list' }),
  MemoryGraphSnapshotted: {
    subject: { streamPrefix: 'memory-graph-' },
    fields: { entities: 'list', relations: 'list' },
  },
  // tools and MCP: arguments, errors and every message kept for replay (tool results included).
  ToolCalled: byUser({ arguments: 'object', error: 'text' }),
  McpSessionOpened: byUser({ initializeParams: 'object' }),
  McpEventEmitted: byUser({ message: 'object' }),
  // The admin who ended a session, by address: theirs, under their key.
  McpSessionClosed: { subject: { userId: 'endedBy.id' }, fields: { 'endedBy.email': 'text' } },
};

/**
 * Metadata names its actor (domain/shared.ts Actor); a user actor may carry their email. It is encrypted
 * under that user's key, whatever the event.
 */
export const ACTOR_EMAIL = { idPath: 'actor.id', typePath: 'actor.type', emailPath: 'actor.email' } as const;

/** The event that erases a user: its data lists the key subjects destroyed (domain/users/events.ts). */
export const ERASURE = { type: 'UserErased', subjectsField: 'keySubjects' } as const;
