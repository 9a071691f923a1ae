// The vector index on disk: one directory per snapshot (manifest, and per user the slot list, the float32
// arena and the saved HNSW graph of each segment), and a `current` file naming the complete one. `current` is replaced by
// rename, which is atomic (POSIX rename(2)), so a crash mid-save leaves the previous snapshot in force.
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { GRAPH, newGraph, SEGMENT_SLOTS, UserVectors, type AnnOptions, type GraphParams } from './user-vectors.ts';

// 2: a graph per segment of slots, and the manifest records how they were built. Format 1 had one graph
// per user, however many slots.
const FORMAT = 2;

export type PendingNote = { userId: string; hash: string; tags: string[] };

const Manifest = z.object({
  format: z.literal(FORMAT),
  graph: z.object({
    connectivity: z.number().int(),
    expansionAdd: z.number().int(),
    segmentSlots: z.number().int(),
  }),
  model: z.string(),
  /** Id of the log's first event: another log (a new database, an import) starts the index from zero. */
  logId: z.string(),
  position: z.object({ commit: z.string(), prepare: z.string() }),
  pending: z.array(z.tuple([z.string(), z.string(), z.string(), z.array(z.string())])),
  /** `graphs`: how many segment graphs were saved (0: the user's searches scan). */
  users: z.array(
    z.object({
      userId: z.string(),
      file: z.string(),
      dims: z.number().int().positive(),
      graphs: z.number().int().nonnegative(),
    }),
  ),
});

const UserFile = z.object({
  slotNotes: z.array(z.string()),
  slotTags: z.array(z.array(z.string())),
  slotHashes: z.array(z.string()),
});

/** A snapshot this code would not have written: another format, or graphs built with other parameters. */
export type Stale = { stale: string };

export type Snapshot = {
  model: string;
  /** Slots per graph of every user. */
  segmentSlots: number;
  logId: string;
  position: { commit: bigint; prepare: bigint };
  pending: Map<string, PendingNote>;
  users: Map<string, UserVectors>;
};

/**
 * Writes what the index holds now. The graph and the slot lists are taken synchronously; the arena's
 * filled slots never change afterwards (a replaced vector gets a new slot), so writing it later is safe.
 */
export const saveSnapshot = async (root: string, snapshot: Snapshot): Promise<void> => {
  fs.mkdirSync(root, { recursive: true });
  const name = `snap-${snapshot.position.commit}-${snapshot.position.prepare}-${process.pid}-${Date.now()}`;
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  const arenas: { file: string; bytes: Uint8Array }[] = [];
  const users: z.infer<typeof Manifest>['users'] = [];
  let i = 0;
  for (const [userId, vectors] of snapshot.users) {
    const file = `u${i++}`;
    const graphs = vectors.graphs ?? [];
    users.push({ userId, file, dims: vectors.dims, graphs: graphs.length });
    const slots = vectors.slotNotes.length;
    fs.writeFileSync(
      path.join(dir, `${file}.json`),
      JSON.stringify({ slotNotes: vectors.slotNotes, slotTags: vectors.slotTags, slotHashes: vectors.slotHashes }),
    );
    graphs.forEach((graph, segment) => graph.save(path.join(dir, `${file}.g${segment}.usearch`)));
    const arena = vectors.arena;
    arenas.push({ file, bytes: new Uint8Array(arena.buffer, arena.byteOffset, slots * vectors.dims * 4) });
  }
  const manifest: z.infer<typeof Manifest> = {
    format: FORMAT,
    graph: { ...GRAPH, segmentSlots: snapshot.segmentSlots },
    model: snapshot.model,
    logId: snapshot.logId,
    position: { commit: String(snapshot.position.commit), prepare: String(snapshot.position.prepare) },
    pending: [...snapshot.pending].map(([noteId, p]) => [noteId, p.userId, p.hash, p.tags]),
    users,
  };
  for (const { file, bytes } of arenas) await fs.promises.writeFile(path.join(dir, `${file}.f32`), bytes);
  await fs.promises.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  const pointer = path.join(root, `current.tmp-${process.pid}`);
  await fs.promises.writeFile(pointer, name);
  await fs.promises.rename(pointer, path.join(root, 'current'));
  // Older snapshots (and any left half-written by a crash) go; the one just named stays.
  for (const entry of fs.readdirSync(root))
    if (entry.startsWith('snap-') && entry !== name)
      await fs.promises.rm(path.join(root, entry), { recursive: true, force: true });
};

type Built = GraphParams & { segmentSlots: number };
const sameGraphs = (a: Built, b: Built) =>
  a.connectivity === b.connectivity && a.expansionAdd === b.expansionAdd && a.segmentSlots === b.segmentSlots;

/**
 * The snapshot named by `current`; undefined when there is none; `stale` when an older version wrote it or
 * built its graphs otherwise (usearch would load such a graph, but a rebuild from the log would not
 * reproduce it, and instances would answer differently). Throws when it cannot be read.
 */
export const loadSnapshot = (root: string, ann: AnnOptions): Snapshot | Stale | undefined => {
  let dir: string;
  try {
    dir = path.join(root, fs.readFileSync(path.join(root, 'current'), 'utf8').trim());
  } catch {
    return undefined;
  }
  const raw: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const format = z.object({ format: z.number() }).parse(raw).format;
  if (format !== FORMAT) return { stale: `format ${format}, this version writes ${FORMAT}` };
  const manifest = Manifest.parse(raw);
  const built = { ...GRAPH, segmentSlots: ann.segmentSlots ?? SEGMENT_SLOTS };
  if (!sameGraphs(manifest.graph, built))
    return {
      stale: `graphs built with ${JSON.stringify(manifest.graph)}, this version builds ${JSON.stringify(built)}`,
    };
  const users = new Map<string, UserVectors>();
  for (const { userId, file, dims, graphs } of manifest.users) {
    const slots = UserFile.parse(JSON.parse(fs.readFileSync(path.join(dir, `${file}.json`), 'utf8')));
    const bytes = fs.readFileSync(path.join(dir, `${file}.f32`));
    if (bytes.length !== slots.slotNotes.length * dims * 4) throw new Error(`${file}.f32 has the wrong size`);
    const vectors = new UserVectors(dims, ann, Math.max(slots.slotNotes.length, 1));
    vectors.arena.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
    slots.slotNotes.forEach((noteId, slot) => {
      vectors.slotNotes.push(noteId);
      vectors.slotTags.push(slots.slotTags[slot] ?? []);
      vectors.slotHashes.push(slots.slotHashes[slot] ?? '');
      if (noteId) vectors.slots.set(noteId, slot);
    });
    if (graphs > 0)
      vectors.graphs = Array.from({ length: graphs }, (_, segment) => {
        const graph = newGraph(dims);
        graph.load(path.join(dir, `${file}.g${segment}.usearch`));
        return graph;
      });
    else if (vectors.size >= ann.annThreshold) vectors.buildGraph();
    users.set(userId, vectors);
  }
  return {
    model: manifest.model,
    segmentSlots: built.segmentSlots,
    logId: manifest.logId,
    position: { commit: BigInt(manifest.position.commit), prepare: BigInt(manifest.position.prepare) },
    pending: new Map(manifest.pending.map(([noteId, userId, hash, tags]) => [noteId, { userId, hash, tags }])),
    users,
  };
};
