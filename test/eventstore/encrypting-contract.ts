// The encrypting decorator (eventstore/encrypting.ts) over any EventLog adapter, its data keys in the
// PostgreSQL table `personal_data_keys` whatever the log's store: personal fields never reach the store
// in clear, open again through the decorator, cannot be moved to another event, and stop opening
// everywhere once their subject is erased, older per-field seals included.
import { randomBytes, randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Queryable } from '../../db/database.ts';
import { ERASED, ERASURE, PERSONAL_FIELDS, erasedValue } from '../../domain/personal.ts';
import { encrypting, PersonalData, type EncryptingLog, type SealedFields } from '../../eventstore/encrypting.ts';
import { PersonalKeyStore, sealGcm } from '../../eventstore/personal-keys.ts';
import { START, type EventLog, type RecordedEvent } from '../../eventstore/port.ts';
import { envelopeAad, fieldAad } from '../../eventstore/sealed-fields.ts';

/** The adapter under test (as it stores events) and a database holding `personal_data_keys`. */
export type EncryptingFactory = () => Promise<{ log: EventLog; keysDb: Queryable; dispose(): Promise<void> }>;

type Context = { raw: EventLog; keysDb: Queryable; secret: Buffer; dispose(): Promise<void> };

/** A decorator as one server instance has it: its own key cache over the shared table. */
const instance = (context: Context): EncryptingLog =>
  encrypting(
    context.raw,
    new PersonalData(new PersonalKeyStore(context.keysDb, () => Promise.resolve(context.secret)), {
      rules: PERSONAL_FIELDS,
      erased: erasedValue,
      erasure: ERASURE,
    }),
  );

const note = (userId: string, marker: string) => ({
  type: 'MemoryStored',
  data: { noteId: randomUUID(), userId, title: `title ${marker}`, content: `content ${marker}`, tags: [marker] },
});

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

/** What an event holds as text (revisions are bigints: JSON has none). */
const text = (events: RecordedEvent | RecordedEvent[]): string =>
  JSON.stringify([events].flat().map((event) => ({ id: event.id, data: event.data, metadata: event.metadata })));

const one = async (log: EventLog, stream: string): Promise<RecordedEvent> => {
  const events = await log.readStream(stream);
  assert.is(events.length, 1);
  return events[0]!;
};

export const encryptingContract = (name: string, factory: EncryptingFactory) => {
  const test = suite<Context>(`Encrypting decorator contract: ${name}`);

  test.before(async (context) => {
    const made = await factory();
    context.raw = made.log;
    context.keysDb = made.keysDb;
    context.secret = randomBytes(32);
    context.dispose = made.dispose;
  });
  test.after(async (context) => {
    await context.dispose();
  });

  test('personal fields are stored as one envelope and read back as written; the rest stays in clear', async (context) => {
    // A shared server holds other runs' events: read from where this test starts.
    const from = (await context.raw.headPosition()) ?? START;
    const log = instance(context);
    const user = randomUUID();
    const marker = `marker-${randomUUID()}`;
    const stream = `memory-note-${randomUUID()}`;
    const written = note(user, marker);
    await log.append(stream, [written]);
    const stored = await one(context.raw, stream);
    assert.not.ok(text(stored).includes(marker), 'no marker in the stored event');
    const { $sealed, ...clear } = stored.data as { $sealed: SealedFields };
    assert.equal(clear, { noteId: written.data.noteId, userId: user });
    assert.equal(Object.keys($sealed).sort(), ['$pd', 'c', 'f', 'v']);
    assert.is($sealed.v, 2, 'the envelope names its format');
    assert.equal($sealed.f, ['title', 'content', 'tags']);
    assert.equal((await one(log, stream)).data, written.data);
    // Another instance (cold cache) reads it too, through every read path.
    const other = instance(context);
    assert.equal((await one(other, stream)).data, written.data);
    const all = await other.readAll({ after: from, maxCount: 100_000 });
    assert.equal(all.find((event) => event.stream === stream)?.data, written.data);
    // appendEach (the versioned group commit) seals as append does.
    const next = note(user, marker);
    const [result] = await log.appendEach([{ stream, expectedVersion: 0n, events: [next] }]);
    assert.not.instance(result, Error);
    const [, storedNext] = await context.raw.readStream(stream);
    assert.not.ok(text(storedNext!).includes(marker), 'no marker in the event appendEach stored');
    assert.equal((await log.readStream(stream))[1]!.data, next.data);
  });

  test('each seal has a fresh IV: the same fields twice are two different ciphertexts', async (context) => {
    const log = instance(context);
    const user = randomUUID();
    const stream = `memory-note-${randomUUID()}`;
    const data = note(user, 'same').data;
    await log.append(stream, [
      { type: 'MemoryStored', data },
      { type: 'MemoryStored', data },
    ]);
    const [a, b] = (await context.raw.readStream(stream)).map(
      (event) => (event.data as { $sealed: SealedFields }).$sealed,
    );
    assert.is(a!.$pd, b!.$pd, 'one key per user');
    // base64url of the 12-byte IV is the first 16 characters.
    assert.is.not(a!.c.slice(0, 16), b!.c.slice(0, 16));
    assert.is.not(a!.c, b!.c);
  });

  test('a seal copied to another event, or with its field list changed, does not open', async (context) => {
    const log = instance(context);
    const user = randomUUID();
    const marker = `marker-${randomUUID()}`;
    const source = `memory-note-${randomUUID()}`;
    await log.append(source, [note(user, marker)]);
    const stored = await one(context.raw, source);
    const $sealed = (stored.data as { $sealed: SealedFields }).$sealed;
    const moved = `memory-note-${randomUUID()}`;
    await context.raw.append(moved, [{ type: 'MemoryStored', data: { noteId: 'n', userId: user, $sealed } }]);
    const nearId = `memory-note-${randomUUID()}`;
    await context.raw.append(nearId, [
      {
        id: stored.id.replace(/.$/, (c) => (c === '0' ? '1' : '0')),
        type: 'MemoryStored',
        data: { userId: user, $sealed },
      },
    ]);
    // Sealed for this very event id, but stored with the field list in another order: the values would
    // land in each other's fields if the list were not bound.
    const { kid, key } = await log.personalKeys.keyFor(`user:${user}`);
    const id = randomUUID();
    const c = sealGcm(key, JSON.stringify(['t', 'c', ['x']]), envelopeAad(id, ['title', 'content', 'tags']));
    const reordered = `memory-note-${randomUUID()}`;
    await context.raw.append(reordered, [
      { id, type: 'MemoryStored', data: { userId: user, $sealed: { $pd: kid, f: ['content', 'title', 'tags'], c } } },
    ]);
    const control = `memory-note-${randomUUID()}`;
    const controlId = randomUUID();
    const controlC = sealGcm(
      key,
      JSON.stringify(['t', 'c', ['x']]),
      envelopeAad(controlId, ['title', 'content', 'tags']),
    );
    await context.raw.append(control, [
      {
        id: controlId,
        type: 'MemoryStored',
        data: { userId: user, $sealed: { $pd: kid, f: ['title', 'content', 'tags'], c: controlC } },
      },
    ]);
    assert.equal((await one(log, control)).data, { userId: user, title: 't', content: 'c', tags: ['x'] });
    for (const stream of [moved, nearId]) {
      const read = (await one(log, stream)).data as Record<string, unknown>;
      assert.equal([read.title, read.content, read.tags], [ERASED, ERASED, []], stream);
      assert.not.ok(JSON.stringify(read).includes(marker));
    }
    const read = (await one(log, reordered)).data as Record<string, unknown>;
    assert.equal([read.content, read.title, read.tags], [ERASED, ERASED, []]);
  });

  test('readers of the same event objects share one opening, never across an erasure', async (context) => {
    const log = instance(context);
    const user = randomUUID();
    const stream = `memory-note-${randomUUID()}`;
    await log.append(stream, [note(user, 'shared')]);
    // As the tail hands one event object to every subscription.
    const [stored] = await context.raw.readStream(stream);
    const [first] = await log.decryptEvents([stored!]);
    const [second] = await log.decryptEvents([stored!]);
    assert.ok(first === second);
    assert.is((first!.data as { title: string }).title, 'title shared');
    await log.personalKeys.erase([`user:${user}`]);
    const [third] = await log.decryptEvents([stored!]);
    assert.ok(third !== first);
    assert.is((third!.data as { title: string }).title, ERASED);
  });

  test('an envelope of the first format (no `v`: bound to the event id alone) still opens; relabelled, it does not', async (context) => {
    const log = instance(context);
    const user = randomUUID();
    const { kid, key } = await log.personalKeys.keyFor(`user:${user}`);
    const paths = ['title', 'content', 'tags'];
    const first = { id: randomUUID(), stream: `memory-note-${randomUUID()}` };
    const relabelled = { id: randomUUID(), stream: `memory-note-${randomUUID()}` };
    for (const [at, v] of [
      [first, undefined],
      [relabelled, 2],
    ] as const) {
      const c = sealGcm(key, JSON.stringify(['old t', 'old c', ['old']]), envelopeAad(at.id, paths));
      await context.raw.append(at.stream, [
        {
          id: at.id,
          type: 'MemoryStored',
          data: { noteId: 'n', userId: user, $sealed: { $pd: kid, ...(v ? { v } : {}), f: paths, c } },
        },
      ]);
    }
    assert.equal((await one(instance(context), first.stream)).data, {
      noteId: 'n',
      userId: user,
      title: 'old t',
      content: 'old c',
      tags: ['old'],
    });
    const read = (await one(log, relabelled.stream)).data as Record<string, unknown>;
    assert.equal([read.title, read.content, read.tags], [ERASED, ERASED, []]);
  });

  test('erasing a subject: its fields read as erased everywhere, on every instance; another subject is untouched', async (context) => {
    // A shared server holds other runs' events: read from where this test starts.
    const from = (await context.raw.headPosition()) ?? START;
    const cached = instance(context);
    const eraser = instance(context);
    const [alice, bob] = [randomUUID(), randomUUID()];
    const [aliceMarker, bobMarker] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
    const streams = { alice: `memory-note-${randomUUID()}`, bob: `memory-note-${randomUUID()}` };
    await cached.append(streams.alice, [note(alice, aliceMarker)]);
    await cached.append(streams.bob, [note(bob, bobMarker)]);
    // The admin's address in metadata is sealed under the admin's key.
    const admin = randomUUID();
    const audit = `user-${randomUUID()}`;
    await cached.append(audit, [
      {
        type: 'UserDisabled',
        data: { userId: alice, reason: `reason ${aliceMarker}` },
        metadata: { actor: { type: 'user', id: admin, email: `admin-${aliceMarker}@example.test` } },
      },
    ]);
    const storedAudit = await one(context.raw, audit);
    assert.not.ok(text(storedAudit).includes(aliceMarker));
    assert.equal((await one(cached, audit)).metadata, {
      actor: { type: 'user', id: admin, email: `admin-${aliceMarker}@example.test` },
    });
    // `cached` holds alice's key; it learns of the erasure from the log, as a second server would.
    const seen: string[] = [];
    const subscription = cached.subscribeAll({
      after: from,
      onEvents: async (events) => {
        for (const event of events) if (event.type === ERASURE.type) seen.push(event.id);
      },
    });
    assert.is(await eraser.personalKeys.erase([`user:${alice}`]), 1);
    const erasure = randomUUID();
    await eraser.append(`user-${alice}`, [
      { id: erasure, type: ERASURE.type, data: { userId: alice, [ERASURE.subjectsField]: [`user:${alice}`] } },
    ]);
    await until(() => seen.includes(erasure));
    await subscription.close();
    for (const log of [cached, eraser, instance(context)]) {
      const gone = (await one(log, streams.alice)).data as Record<string, unknown>;
      assert.equal([gone.title, gone.content, gone.tags], [ERASED, ERASED, []]);
      assert.equal(((await one(log, audit)).data as { reason: string }).reason, ERASED);
      // The admin was not erased: their address still opens.
      assert.equal((await one(log, audit)).metadata, {
        actor: { type: 'user', id: admin, email: `admin-${aliceMarker}@example.test` },
      });
      const kept = (await one(log, streams.bob)).data as Record<string, unknown>;
      assert.equal([kept.title, kept.content, kept.tags], [`title ${bobMarker}`, `content ${bobMarker}`, [bobMarker]]);
      const all = text(await log.readAll({ after: from, maxCount: 100_000 }));
      assert.not.ok(all.includes(`title ${aliceMarker}`));
      assert.ok(all.includes(`title ${bobMarker}`));
    }
    // A new key for the subject does not open the old events (a new key id).
    const again = `memory-note-${randomUUID()}`;
    await eraser.append(again, [note(alice, 'after')]);
    assert.equal(((await one(eraser, again)).data as { title: string }).title, 'title after');
    assert.equal(((await one(eraser, streams.alice)).data as { title: string }).title, ERASED);
  });

  test('per-field seals written before the envelope still open, and an erasure reaches them', async (context) => {
    const log = instance(context);
    const user = randomUUID();
    const { kid, key } = await log.personalKeys.keyFor(`user:${user}`);
    const id = randomUUID();
    const field = (path: string, value: unknown) => ({
      $pd: kid,
      c: sealGcm(key, Buffer.from(JSON.stringify(value)), fieldAad(id, 'data', path)),
    });
    const stream = `memory-note-${randomUUID()}`;
    await context.raw.append(stream, [
      {
        id,
        type: 'MemoryStored',
        data: {
          noteId: 'n1',
          userId: user,
          title: field('title', 'old title'),
          content: field('content', 'old'),
          tags: field('tags', ['a']),
        },
      },
    ]);
    assert.equal((await one(log, stream)).data, {
      noteId: 'n1',
      userId: user,
      title: 'old title',
      content: 'old',
      tags: ['a'],
    });
    // A per-field seal under another field's name does not open.
    const swapped = `memory-note-${randomUUID()}`;
    await context.raw.append(swapped, [
      { id: randomUUID(), type: 'MemoryStored', data: { userId: user, title: field('content', 'x') } },
    ]);
    assert.equal(((await one(log, swapped)).data as { title: string }).title, ERASED);
    await log.personalKeys.erase([`user:${user}`]);
    assert.equal((await one(instance(context), stream)).data, {
      noteId: 'n1',
      userId: user,
      title: ERASED,
      content: ERASED,
      tags: [],
    });
  });

  test('keys exported and imported with the sealed events: a tombstone in the backup erases, a live key opens', async (context) => {
    // A shared server holds other runs' events: read from where this test starts.
    const from = (await context.raw.headPosition()) ?? START;
    const log = instance(context);
    const [kept, gone] = [randomUUID(), randomUUID()];
    const streams = { kept: `memory-note-${randomUUID()}`, gone: `memory-note-${randomUUID()}` };
    await log.append(streams.kept, [note(kept, 'kept')]);
    await log.append(streams.gone, [note(gone, 'gone')]);
    const before = await log.personalKeys.exportKeys();
    const goneKey = before.find((key) => key.subject === `user:${gone}`)!;
    assert.ok(goneKey.wrapped, 'a live key is exported wrapped');
    assert.not.ok(text(await log.sealed.readAll({ after: from, maxCount: 100_000 })).includes('title kept'));
    // Restoring the pre-erasure backup into this table after the erasure: the tombstone stays.
    await log.personalKeys.erase([`user:${gone}`]);
    const tombstones = before.filter((key) => key.wrapped === null).length;
    assert.equal(await log.personalKeys.importKeys(before), { imported: 0, erased: tombstones });
    const fresh = instance(context);
    assert.equal(((await one(fresh, streams.gone)).data as { title: string }).title, ERASED);
    assert.equal(((await one(fresh, streams.kept)).data as { title: string }).title, 'title kept');
    const after = await log.personalKeys.exportKeys();
    assert.equal(after.find((key) => key.kid === goneKey.kid)?.wrapped, null);
  });

  return test;
};
