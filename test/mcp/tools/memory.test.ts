import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { startEmbeddingsStub, type EmbeddingsStub } from './embeddings-stub.ts';
import { caller, connectHttp, errorText, serveWithStandInTokens, structured, type Connected } from './support.ts';

type Note = { id: string; title: string; content: string; tags: string[] };
type Hit = Note & { score: number; match: string };
type Graph = {
  entities: { name: string; entityType: string; observations: string[] }[];
  relations: { from: string; to: string; relationType: string }[];
};
type Context = { server: TestServer; alice: Connected; bob: Connected };

const test = suite<Context>('tools: memory over HTTP (events → PostgreSQL, full-text, isolation, graph)');

test.before(async (context) => {
  context.server = await startTestServer();
  const tokens = await serveWithStandInTokens(context.server);
  context.alice = await connectHttp(context.server, tokens, caller('alice'));
  context.bob = await connectHttp(context.server, tokens, caller('bob'));
});
test.after(async ({ server, alice, bob }) => {
  await alice.close();
  await bob.close();
  await server.stop();
});

const search = async (who: Connected, query: string, extra: Record<string, unknown> = {}) =>
  structured<{ mode: string; results: Hit[] }>(await who.call('memory_search', { query, ...extra }));

test('a stored note is an event and is searchable as soon as the call returns', async ({ server, alice }) => {
  const note = structured<Note>(
    await alice.call('memory_store', {
      content: 'The deploy key rotates every Friday',
      title: 'Deploy routine',
      tags: ['Ops', 'ops', 'weekly'],
    }),
  );
  assert.equal(note.tags, ['ops', 'weekly']);
  const events = await server.services.log.readStream(`memory-note-${note.id}`);
  assert.equal(
    events.map((e) => e.type),
    ['MemoryStored'],
  );
  assert.equal(events[0]?.metadata.actor, { type: 'user', id: 'alice' });
  const found = await search(alice, 'rotating keys');
  assert.is(found.mode, 'fulltext');
  assert.equal(
    found.results.map((r) => r.id),
    [note.id],
  );
});

test('full-text ranking: title beats tags beats body; more matches rank higher; tags filter', async ({ alice }) => {
  const body = structured<Note>(
    await alice.call('memory_store', {
      content: 'We talked about the garden and later about compost.',
      title: 'Sunday',
    }),
  );
  const title = structured<Note>(
    await alice.call('memory_store', { content: 'Notes from the meeting.', title: 'Compost plans' }),
  );
  const tagged = structured<Note>(await alice.call('memory_store', { content: 'Buy a new bin.', tags: ['compost'] }));
  const many = structured<Note>(
    await alice.call('memory_store', {
      content: 'Compost: turn the compost weekly; compost needs air. Compost!',
      title: 'Garden',
    }),
  );
  const ranked = (await search(alice, 'compost')).results.map((r) => r.id);
  assert.is(ranked.length, 4);
  assert.ok(ranked.indexOf(title.id) < ranked.indexOf(tagged.id), 'a title match ranks above a tag match');
  assert.ok(ranked.indexOf(tagged.id) < ranked.indexOf(body.id), 'a tag match ranks above a body match');
  assert.ok(ranked.indexOf(many.id) < ranked.indexOf(body.id), 'more occurrences rank higher');
  assert.equal(
    (await search(alice, 'compost', { tags: ['compost'] })).results.map((r) => r.id),
    [tagged.id],
  );
  assert.equal(
    (await search(alice, '"turn the compost"')).results.map((r) => r.id),
    [many.id],
  );
  assert.equal(
    (await search(alice, 'compost -garden -meeting -bin')).results.map((r) => r.id),
    [],
  );
});

test('update and delete change what search finds; list shows newest first', async ({ alice }) => {
  const note = structured<Note>(await alice.call('memory_store', { content: 'Parking spot is B12' }));
  const updated = structured<Note>(
    await alice.call('memory_update', { id: note.id, content: 'Parking spot is C7', tags: ['car'] }),
  );
  assert.is(updated.content, 'Parking spot is C7');
  assert.equal(
    (await search(alice, 'C7')).results.map((r) => r.id),
    [note.id],
  );
  assert.equal((await search(alice, 'B12')).results, []);
  const listed = structured<{ notes: Note[] }>(await alice.call('memory_list', { tags: ['car'] }));
  assert.equal(
    listed.notes.map((n) => n.id),
    [note.id],
  );
  assert.equal(structured(await alice.call('memory_delete', { id: note.id })), { id: note.id, deleted: true });
  assert.equal((await search(alice, 'parking')).results, []);
  assert.match(errorText(await alice.call('memory_delete', { id: note.id })), /^note_not_found:/);
});

test("isolation: one user never sees, changes or deletes another's memory", async ({ server, alice, bob }) => {
  const secret = structured<Note>(
    await alice.call('memory_store', { content: 'Alice private diary: zebra crossing', tags: ['diary'] }),
  );
  await alice.call('memory_create_entities', {
    entities: [{ name: 'Zebra Project', entityType: 'project', observations: ['alice only'] }],
  });
  assert.equal((await search(bob, 'zebra')).results, []);
  assert.equal(structured<{ notes: Note[] }>(await bob.call('memory_list', {})).notes, []);
  assert.equal(structured<Graph>(await bob.call('memory_read_graph')).entities, []);
  assert.equal(structured<Graph>(await bob.call('memory_search_nodes', { query: 'zebra' })).entities, []);
  assert.match(errorText(await bob.call('memory_open_nodes', { names: ['Zebra Project'] })), /^entity_not_found:/);
  assert.match(errorText(await bob.call('memory_update', { id: secret.id, content: 'hijacked' })), /^note_not_found:/);
  assert.match(errorText(await bob.call('memory_delete', { id: secret.id })), /^note_not_found:/);
  assert.match(
    errorText(
      await bob.call('memory_add_observations', {
        observations: [{ entityName: 'Zebra Project', contents: ['bob was here'] }],
      }),
    ),
    /^entity_not_found:/,
  );
  // Same entity name for bob is his own entity, not alice's.
  await bob.call('memory_create_entities', {
    entities: [{ name: 'Zebra Project', entityType: 'animal', observations: ['bob only'] }],
  });
  assert.equal(
    structured<Graph>(await alice.call('memory_open_nodes', { names: ['Zebra Project'] })).entities[0]?.observations,
    ['alice only'],
  );
  assert.equal(
    structured<Graph>(await bob.call('memory_open_nodes', { names: ['Zebra Project'] })).entities[0]?.observations,
    ['bob only'],
  );
  assert.is((await search(alice, 'zebra')).results[0]?.content, 'Alice private diary: zebra crossing');
  const bobEvents = await server.services.log.readStream(`memory-note-${secret.id}`);
  assert.equal(
    bobEvents.map((e) => e.type),
    ['MemoryStored'],
    "bob's refused attempts wrote nothing",
  );
});

test('knowledge graph: create (duplicates skipped), relate, observe, search, open, delete (cascading relations)', async ({
  server,
  alice,
}) => {
  const created = structured<{ created: unknown[] }>(
    await alice.call('memory_create_entities', {
      entities: [
        { name: 'Ada Lovelace', entityType: 'person', observations: ['wrote the first program'] },
        { name: 'Analytical Engine', entityType: 'machine', observations: ['designed by Babbage'] },
        { name: 'Ada Lovelace', entityType: 'person', observations: ['duplicate in the same call'] },
      ],
    }),
  );
  assert.is(created.created.length, 2);
  assert.is(
    structured<{ created: unknown[] }>(
      await alice.call('memory_create_entities', { entities: [{ name: 'Ada Lovelace', entityType: 'person' }] }),
    ).created.length,
    0,
  );
  assert.match(
    errorText(
      await alice.call('memory_create_relations', {
        relations: [{ from: 'Ada Lovelace', to: 'Nobody', relationType: 'knows' }],
      }),
    ),
    /^entity_not_found: no entity named "Nobody"/,
  );
  assert.equal(
    structured(
      await alice.call('memory_create_relations', {
        relations: [{ from: 'Ada Lovelace', to: 'Analytical Engine', relationType: 'programmed' }],
      }),
    ),
    { created: [{ from: 'Ada Lovelace', to: 'Analytical Engine', relationType: 'programmed' }] },
  );
  assert.equal(
    structured(
      await alice.call('memory_add_observations', {
        observations: [{ entityName: 'Ada Lovelace', contents: ['wrote the first program', 'born 1815'] }],
      }),
    ),
    { added: [{ entityName: 'Ada Lovelace', addedObservations: ['born 1815'] }] },
  );
  const hits = structured<Graph>(await alice.call('memory_search_nodes', { query: 'programs' }));
  assert.equal(
    hits.entities.map((e) => e.name),
    ['Ada Lovelace'],
  );
  const substring = structured<Graph>(await alice.call('memory_search_nodes', { query: 'Babb' }));
  assert.equal(
    substring.entities.map((e) => e.name),
    ['Analytical Engine'],
  );
  const opened = structured<Graph>(
    await alice.call('memory_open_nodes', { names: ['Ada Lovelace', 'Analytical Engine'] }),
  );
  assert.equal(opened.entities.find((e) => e.name === 'Ada Lovelace')?.observations, [
    'wrote the first program',
    'born 1815',
  ]);
  assert.is(opened.relations.length, 1);
  const extra = { from: 'Analytical Engine', to: 'Ada Lovelace', relationType: 'inspired' };
  await alice.call('memory_create_relations', { relations: [extra] });
  assert.equal(
    structured(
      await alice.call('memory_delete_relations', {
        relations: [extra, { from: 'Ada Lovelace', to: 'Analytical Engine', relationType: 'never' }],
      }),
    ),
    { deleted: [extra] },
  );
  assert.is(
    structured<Graph>(await alice.call('memory_open_nodes', { names: ['Ada Lovelace', 'Analytical Engine'] })).relations
      .length,
    1,
  );
  await alice.call('memory_delete_observations', {
    deletions: [{ entityName: 'Ada Lovelace', observations: ['born 1815'] }],
  });
  assert.equal(structured<Graph>(await alice.call('memory_search_nodes', { query: '1815' })).entities, []);
  assert.equal(structured(await alice.call('memory_delete_entities', { entityNames: ['Analytical Engine'] })), {
    deleted: ['Analytical Engine'],
  });
  const graph = structured<Graph>(await alice.call('memory_read_graph'));
  assert.ok(!graph.entities.some((e) => e.name === 'Analytical Engine'));
  assert.equal(graph.relations, [], 'relations of a deleted entity are gone');
  const types = (await server.services.log.readStream('memory-graph-alice')).map((e) => e.type);
  assert.equal(types, [
    'MemoryEntitiesCreated',
    'MemoryEntitiesCreated',
    'MemoryRelationsCreated',
    'MemoryObservationsAdded',
    'MemoryRelationsCreated',
    'MemoryRelationsDeleted',
    'MemoryObservationsDeleted',
    'MemoryEntitiesDeleted',
  ]);
});

test.run();

// --- embeddings: a second server configured with a local OpenAI-compatible stub ---

type EmbeddingContext = { server: TestServer; stub: EmbeddingsStub; user: Connected };
const hybrid = suite<EmbeddingContext>('tools: memory with embeddings (hybrid search against a stub API)');

hybrid.before(async (context) => {
  context.stub = await startEmbeddingsStub();
  context.server = await startTestServer({
    OPENAI_API_KEY: 'sk-test-stub',
    OPENAI_BASE_URL: context.stub.url,
    EMBEDDING_MODEL: 'stub-embed-16',
  });
  context.user = await connectHttp(context.server, await serveWithStandInTokens(context.server), caller('carol'));
});
hybrid.after(async ({ server, stub, user }) => {
  await user.close();
  await server.stop();
  await stub.close();
});

hybrid('stored notes are embedded with the configured model and key', async ({ stub, user }) => {
  await user.call('memory_store', { content: 'My kitten sleeps on the sofa all day', title: 'Pet' });
  const request = stub.requests.at(-1)!;
  assert.is(request.model, 'stub-embed-16');
  assert.is(request.authorization, 'Bearer sk-test-stub');
  assert.equal(request.input, ['Pet\nMy kitten sleeps on the sofa all day']);
});

hybrid(
  'hybrid search finds meaning without shared words and ranks notes matching both ways first',
  async ({ user }) => {
    const both = structured<Note>(
      await user.call('memory_store', { content: 'The feline at the shelter needs a home', title: 'Adoption' }),
    );
    await user.call('memory_store', { content: 'The car needs new tyres before winter', title: 'Garage' });
    const found = await search(user, 'feline');
    assert.is(found.mode, 'hybrid');
    assert.is(found.results[0]?.id, both.id);
    assert.is(found.results[0]?.match, 'both');
    const kitten = found.results.find((r) => r.content.includes('kitten'));
    assert.ok(kitten, 'the kitten note is found by meaning alone');
    assert.is(kitten.match, 'vector');
    assert.not.ok(
      found.results.some((r) => r.content.includes('tyres')),
      'unrelated notes have no similarity',
    );
  },
);

hybrid(
  'hybrid reads rows for the fused top results only, and a candidate whose row is gone is skipped',
  async ({ server, user }) => {
    for (const content of ['A kitten chases string', 'The cat naps by the window', 'Feline vaccination due'])
      await user.call('memory_store', { content });
    const all = (await search(user, 'feline', { limit: 10 })).results;
    // A candidate found by meaning only, with another result after it.
    const at = all.findIndex((r) => r.match === 'vector');
    assert.ok(at >= 0 && at + 1 < all.length, `a vector-only hit with one after it: ${at} of ${all.length}`);
    const before = all.slice(0, at + 2);
    // The read model lost that row while the index still holds its vector (a lagging read model): the next
    // candidate takes its place, and every score stays what fusion gave it.
    await server.services.db.query('DELETE FROM memory_notes WHERE id = $1', [all[at]!.id]);
    const after = (await search(user, 'feline', { limit: at + 1 })).results;
    assert.equal(
      after.map((r) => [r.id, r.score, r.match]),
      before.filter((_, i) => i !== at).map((r) => [r.id, r.score, r.match]),
    );
  },
);

hybrid('a failing embeddings API does not lose the note; backfill embeds it later', async ({ server, stub, user }) => {
  stub.failing = true;
  const note = structured<Note>(
    await user.call('memory_store', { content: 'Heavy drizzle expected tomorrow', title: 'Forecast' }),
  );
  assert.equal(
    (await search(user, 'drizzle')).results.map((r) => r.id),
    [note.id],
  );
  stub.failing = false;
  assert.not.ok(
    (await search(user, 'storm')).results.some((r) => r.id === note.id),
    'no embedding yet, so no meaning match',
  );
  const result = await server.services.tools.memory.backfillEmbeddings();
  assert.equal(result, { embedded: 1 });
  const storm = await search(user, 'storm');
  assert.equal(
    storm.results.map((r) => [r.id, r.match]),
    [[note.id, 'vector']],
  );
  assert.equal(await server.services.tools.memory.backfillEmbeddings(), { embedded: 0 });
});

hybrid.run();
