// Sealing and opening without a log around them: when sealing waits, and which openings readers share.
import { randomBytes, randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ERASED, ERASURE, PERSONAL_FIELDS, erasedValue } from '../../domain/personal.ts';
import { PersonalData } from '../../eventstore/personal-data.ts';
import { PersonalKeyStore } from '../../eventstore/personal-keys.ts';
import { UnstorableEventError, type NewEvent, type RecordedEvent } from '../../eventstore/port.ts';
import { embeddedDatabase, type TestDatabase } from '../support/databases.ts';

type Context = { database: TestDatabase; personal: PersonalData; secret: Buffer };
const test = suite<Context>('eventstore: personal data', {} as Context);

test.before.each(async (context) => {
  context.database = await embeddedDatabase();
  const secret = (context.secret = randomBytes(32));
  const keys = new PersonalKeyStore(context.database.db, () => Promise.resolve(secret));
  context.personal = new PersonalData(keys, { rules: PERSONAL_FIELDS, erased: erasedValue, erasure: ERASURE });
});
test.after.each(async (context) => {
  await context.database.dispose();
});

const note = (userId: string, title: string): NewEvent => ({
  type: 'MemoryStored',
  data: { noteId: randomUUID(), userId, title, content: `content of ${title}`, tags: ['a'] },
});

const recorded = (stream: string, event: NewEvent, n: number): RecordedEvent => ({
  id: event.id!,
  stream,
  revision: 0n,
  position: { commit: BigInt(n), prepare: BigInt(n) },
  type: event.type,
  data: event.data,
  metadata: event.metadata ?? {},
  createdAt: new Date(),
});

test('sealing waits only for a key it does not hold: a promise the first time, an array once cached', async ({
  personal,
}) => {
  const user = randomUUID();
  const first = personal.sealAll([{ stream: 'memory-note-1', events: [note(user, 'one')] }]);
  assert.ok(first instanceof Promise);
  await first;
  const second = personal.sealAll([{ stream: 'memory-note-2', events: [note(user, 'two')] }]);
  assert.ok(Array.isArray(second));
  const [sealed] = second as Exclude<typeof second, Promise<unknown>>;
  const stored = sealed!.events[0]!;
  assert.not.ok(JSON.stringify(stored.data).includes('two'));
  const [opened] = await personal.open([recorded('memory-note-2', stored, 1)]);
  assert.equal(opened!.data, {
    noteId: (stored.data as { noteId: string }).noteId,
    userId: user,
    title: 'two',
    content: 'content of two',
    tags: ['a'],
  });
});

test('a storable check still refuses before anything is sealed, even with every key cached', async ({ personal }) => {
  const user = randomUUID();
  await personal.sealAll([{ stream: 's', events: [note(user, 'warm')] }]);
  assert.throws(() => personal.sealAll([{ stream: 's', events: [note(user, 'bad\u0000')] }]));
});

test('an unstorable batch is refused before the server secret is asked for an address subject', async ({
  database,
}) => {
  // A failing secret read (a database down) for an event already refused would be a promise nobody awaits.
  let asked = 0;
  const keys = new PersonalKeyStore(database.db, () => {
    asked += 1;
    return Promise.reject(new Error('secret unavailable'));
  });
  const personal = new PersonalData(keys, { rules: PERSONAL_FIELDS, erased: erasedValue, erasure: ERASURE });
  const failed = (email: string): NewEvent => ({ type: 'LoginFailed', data: { email } });
  assert.throws(
    () => personal.sealAll([{ stream: 'login-a', events: [failed('a@example.com'), failed('bad\u0000@example.com')] }]),
    (error: unknown) => error instanceof UnstorableEventError && error.path.includes('email'),
  );
  assert.is(asked, 0);
});

test('an opened event lists data and metadata to for…in and nothing of its own bookkeeping', async ({ personal }) => {
  const user = randomUUID();
  const sealed = await personal.seal('memory-note-1', note(user, 'keys'));
  const [opened] = await personal.open([recorded('memory-note-1', sealed, 1)]);
  const names: string[] = [];
  for (const name in opened) names.push(name);
  assert.equal(names.sort(), ['createdAt', 'data', 'id', 'metadata', 'position', 'revision', 'stream', 'type']);
  assert.equal(Object.getOwnPropertySymbols(opened), []);
});

test('in a page with an erased subject, the other events are still shared and the erased one is not', async ({
  personal,
}) => {
  const kept = randomUUID();
  const gone = randomUUID();
  const a = await personal.seal('memory-note-a', note(kept, 'kept'));
  const b = await personal.seal('memory-note-b', note(gone, 'gone'));
  await personal.keys.erase([`user:${gone}`]);
  const page = [recorded('memory-note-a', a, 1), recorded('memory-note-b', b, 2)];
  const first = await personal.open(page);
  const second = await personal.open(page);
  assert.ok(first[0] === second[0]);
  assert.ok(first[1] !== second[1]);
  assert.is((second[0]!.data as { title: string }).title, 'kept');
  assert.is((second[1]!.data as { title: string }).title, ERASED);
});

test('what this instance sealed opens without the cipher, to what a fresh reader deciphers', async ({
  personal,
  database,
  secret,
}) => {
  const user = randomUUID();
  const sealed = await personal.seal('memory-note-1', note(user, 'mine'));
  const before = personal.reuse.opened;
  const [opened] = await personal.open([recorded('memory-note-1', sealed, 1)]);
  // Opened when first read.
  assert.is((opened!.data as { title: string }).title, 'mine');
  assert.is(personal.reuse.opened, before + 1);
  // Another instance (same secret, same key store table) has nothing kept: it deciphers.
  const other = new PersonalData(new PersonalKeyStore(database.db, () => Promise.resolve(secret)), {
    rules: PERSONAL_FIELDS,
    erased: erasedValue,
    erasure: ERASURE,
  });
  const [deciphered] = await other.open([recorded('memory-note-1', sealed, 1)]);
  assert.equal(opened!.data, deciphered!.data);
  assert.is(other.reuse.opened, 0);
});

test('a kept plaintext opens nothing a cipher would not: a copied envelope, an erased subject', async ({
  personal,
}) => {
  const user = randomUUID();
  const sealed = await personal.seal('memory-note-1', note(user, 'copied'));
  // The same envelope under another event id: its additional data differs, so it stays shut.
  const copy = { ...sealed, id: randomUUID() };
  const before = personal.reuse.opened;
  const [moved] = await personal.open([recorded('memory-note-1', copy, 1)]);
  assert.is((moved!.data as { title: string }).title, ERASED);
  // Erased after it was sealed: the kept text goes with the key.
  await personal.keys.erase([`user:${user}`]);
  const [erased] = await personal.open([recorded('memory-note-1', sealed, 2)]);
  assert.is((erased!.data as { title: string }).title, ERASED);
  assert.is(personal.reuse.opened, before);
});

test('any erasure drops the kept plaintexts at once: an event sealed before it is deciphered again', async ({
  personal,
}) => {
  const kept = randomUUID();
  const sealed = await personal.seal('memory-note-1', note(kept, 'still mine'));
  assert.is(personal.keptPlaintexts, 1);
  await personal.keys.erase([`user:${randomUUID()}`]);
  assert.is(personal.keptPlaintexts, 0);
  const before = personal.reuse.opened;
  const [opened] = await personal.open([recorded('memory-note-1', sealed, 1)]);
  assert.is((opened!.data as { title: string }).title, 'still mine');
  assert.is(personal.reuse.opened, before);
});

test('what is kept is bounded in size: the oldest go first, and a very large plaintext is not kept', async ({
  personal,
}) => {
  const user = randomUUID();
  const large = (title: string, size: number): NewEvent => ({
    type: 'MemoryStored',
    data: { noteId: randomUUID(), userId: user, title, content: 'x'.repeat(size), tags: [] },
  });
  await personal.seal('memory-note-0', note(user, 'small'));
  assert.is(personal.keptPlaintexts, 1);
  // Over a tenth of the budget (8 Mi characters, plaintext and ciphertext): sealed, not kept.
  await personal.seal('memory-note-1', large('huge', 900_000));
  assert.is(personal.keptPlaintexts, 1);
  // 250k characters each (about 583k with the ciphertext): at most 14 fit in the budget.
  let last: NewEvent | undefined;
  for (let i = 0; i < 20; i += 1) last = await personal.seal(`memory-note-big-${i}`, large(`big ${i}`, 250_000));
  assert.ok(personal.keptPlaintexts <= 14, `kept ${personal.keptPlaintexts}`);
  const before = personal.reuse.opened;
  const [opened] = await personal.open([recorded('memory-note-big-19', last!, 1)]);
  assert.is((opened!.data as { title: string }).title, 'big 19');
  assert.is(personal.reuse.opened, before + 1);
});

test.run();
