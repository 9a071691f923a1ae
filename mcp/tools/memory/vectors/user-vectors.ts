// One user's note vectors: the unit vectors in a float32 arena (exact scores), and HNSW graphs (usearch)
// over them once there are enough to make a scan slow, one graph per segment of slots. Each user has their
// own, so one user's search can never meet another user's notes, and the graphs need no filter.
import { Index, MetricKind, ScalarKind } from 'usearch';

export type VectorHit = { noteId: string; score: number };

export type AnnOptions = {
  /** Below this many vectors a search scans them all (exact, and faster than a graph at that size). */
  annThreshold: number;
  /** Candidates asked of the graph per result wanted; they are re-ranked exactly. */
  oversample: number;
  /** Never fewer candidates than this. */
  minCandidates: number;
  /** Slots per graph (default `SEGMENT_SLOTS`); tests make it small to exercise several. */
  segmentSlots?: number;
};

export const DEFAULT_ANN: AnnOptions = { annThreshold: 2_000, oversample: 4, minCandidates: 100 };

/**
 * How a graph is built (HNSW, Malkov & Yashunin 2018): `connectivity` is M, the links a node keeps per
 * layer (2M on the ground layer); `expansionAdd` is the beam with which an insertion looks for them. A
 * snapshot records them, and one saved with other values is rebuilt: the same log must give the same graph.
 */
export type GraphParams = { connectivity: number; expansionAdd: number };

export const GRAPH: GraphParams = { connectivity: 16, expansionAdd: 64 };

/**
 * Slots 0 to n-1 go to the first graph, the next n to the second, and so on (segments, as in Lucene): a
 * slot's graph follows from the log's order alone. One graph over 1M notes in 1,000 clustered topics
 * found recall@10 0.91 at best however wide its search (a beam of 500 or 1,000 alike), and each insertion
 * cost more the larger it grew; four graphs of 250k found 0.995 (√size / 2 = 250 candidates each).
 */
export const SEGMENT_SLOTS = 250_000;
/** The beam of a search asking for fewer candidates than this (usearch widens it to the count asked). */
const EXPANSION_SEARCH = 128;

/** Dot product of the query with the arena's vector at `slot` (vectors are unit length: cosine similarity). */
const dot = (arena: Float32Array, slot: number, query: Float32Array, dims: number): number => {
  let sum = 0;
  const base = slot * dims;
  for (let i = 0; i < dims; i += 1) sum += arena[base + i]! * query[i]!;
  return sum;
};

/** Best first; equal scores by note id, so the same vectors always give the same order. */
const byScore = (a: VectorHit, b: VectorHit) =>
  b.score - a.score || (a.noteId < b.noteId ? -1 : a.noteId > b.noteId ? 1 : 0);

/** Keeps the k best hits seen (k is small: insertion into a sorted array). */
class TopK {
  readonly hits: VectorHit[] = [];
  constructor(private readonly k: number) {}
  offer(hit: VectorHit): void {
    if (this.hits.length === this.k && byScore(hit, this.hits[this.k - 1]!) >= 0) return;
    let at = this.hits.length;
    while (at > 0 && byScore(hit, this.hits[at - 1]!) < 0) at -= 1;
    this.hits.splice(at, 0, hit);
    if (this.hits.length > this.k) this.hits.pop();
  }
}

export const newGraph = (dims: number, params: GraphParams = GRAPH): Index =>
  new Index({
    dimensions: dims,
    // Inner product of unit vectors = cosine; half precision halves the graph's copy of the vectors, and
    // the exact re-rank over the float32 arena removes the rounding from the scores.
    metric: MetricKind.IP,
    quantization: ScalarKind.F16,
    connectivity: params.connectivity,
    expansion_add: params.expansionAdd,
    expansion_search: EXPANSION_SEARCH,
    multi: false,
  });

export class UserVectors {
  /** slot → note id ('' once the slot's vector is replaced or deleted). */
  readonly slotNotes: string[] = [];
  readonly slotTags: string[][] = [];
  /** slot → hash of the text its vector was made from (a retag keeps the vector, a new text replaces it). */
  readonly slotHashes: string[] = [];
  /** note id → its slot. */
  readonly slots = new Map<string, number>();
  arena: Float32Array;
  /** Graph i indexes slots [i × segmentSlots, (i + 1) × segmentSlots); undefined: searches scan. */
  graphs: Index[] | undefined;
  readonly segmentSlots: number;
  /** Slots put while a graph exists but not added to it yet (ascending). */
  private unindexed: number[] = [];

  constructor(
    readonly dims: number,
    private readonly ann: AnnOptions,
    capacity = 64,
  ) {
    this.arena = new Float32Array(capacity * dims);
    this.segmentSlots = ann.segmentSlots ?? SEGMENT_SLOTS;
  }

  /** The graph of the slot's segment (created empty when it is the first of its segment). */
  private graphOf(slot: number): Index {
    const graphs = this.graphs!;
    const segment = Math.floor(slot / this.segmentSlots);
    while (graphs.length <= segment) graphs.push(newGraph(this.dims));
    return graphs[segment]!;
  }

  get size(): number {
    return this.slots.size;
  }

  /**
   * Adds or replaces the note's vector (a vector replaced leaves its old slot empty). `deferred` leaves it
   * out of the graph until `flush`, so a batch of puts becomes one parallel insertion; searches in between
   * would miss it, so callers flush before they yield.
   */
  put(noteId: string, vector: Float32Array, tags: string[], hash: string, deferred = false): void {
    this.remove(noteId);
    const slot = this.slotNotes.length;
    if ((slot + 1) * this.dims > this.arena.length) {
      const grown = new Float32Array(Math.max(this.arena.length * 2, (slot + 1) * this.dims));
      grown.set(this.arena);
      this.arena = grown;
    }
    this.arena.set(vector, slot * this.dims);
    this.slotNotes.push(noteId);
    this.slotTags.push(tags);
    this.slotHashes.push(hash);
    this.slots.set(noteId, slot);
    if (this.graphs) this.unindexed.push(slot);
    else if (this.size >= this.ann.annThreshold) this.buildGraph();
    if (!deferred) this.flush();
  }

  /**
   * Adds the vectors put since the last flush to their graphs, one call per segment: usearch spreads a
   * batch over `threads` (0: every core). One vector (the live path) goes on the calling thread: spawning
   * workers for it would cost more than the insertion.
   */
  flush(threads = 0): void {
    const slots = this.unindexed.filter((slot) => this.slotNotes[slot] !== '');
    this.unindexed = [];
    if (this.graphs) this.addToGraphs(slots, threads);
  }

  /** Adds these ascending slots to their segments' graphs, one batch per segment. */
  private addToGraphs(slots: readonly number[], threads: number): void {
    for (let from = 0; from < slots.length;) {
      const segment = Math.floor(slots[from]! / this.segmentSlots);
      let to = from + 1;
      while (to < slots.length && Math.floor(slots[to]! / this.segmentSlots) === segment) to += 1;
      const batch = slots.slice(from, to);
      const graph = this.graphOf(batch[0]!);
      if (batch.length === 1)
        graph.add(BigInt(batch[0]!), this.arena.subarray(batch[0]! * this.dims, (batch[0]! + 1) * this.dims), 1);
      else
        graph.add(
          BigUint64Array.from(batch, (slot) => BigInt(slot)),
          this.gather(batch),
          threads,
        );
      from = to;
    }
  }

  /** The arena's vectors at these ascending slots as one matrix (a view when they are consecutive). */
  private gather(slots: readonly number[]): Float32Array {
    const first = slots[0]!;
    if (slots[slots.length - 1]! - first === slots.length - 1)
      return this.arena.subarray(first * this.dims, (first + slots.length) * this.dims);
    const out = new Float32Array(slots.length * this.dims);
    slots.forEach((slot, i) => out.set(this.arena.subarray(slot * this.dims, (slot + 1) * this.dims), i * this.dims));
    return out;
  }

  /** The tags changed, not the text (same hash): the vector stays. False when the text changed. */
  retag(noteId: string, hash: string, tags: string[]): boolean {
    const slot = this.slots.get(noteId);
    if (slot === undefined || this.slotHashes[slot] !== hash) return false;
    this.slotTags[slot] = tags;
    return true;
  }

  remove(noteId: string): void {
    const slot = this.slots.get(noteId);
    if (slot === undefined) return;
    this.slots.delete(noteId);
    this.slotNotes[slot] = '';
    this.slotTags[slot] = [];
    this.slotHashes[slot] = '';
    // A slot still waiting for `flush` is not in the graph yet: emptying it is enough.
    if (this.graphs && !this.unindexed.includes(slot)) this.graphOf(slot).remove(BigInt(slot));
  }

  /** Builds the graphs from the arena, a batch per segment (at the threshold, or after loading without them). */
  buildGraph(threads = 0): void {
    this.graphs = [];
    this.unindexed = [];
    this.addToGraphs(
      [...this.slots.values()].sort((a, b) => a - b),
      threads,
    );
  }

  /**
   * The k notes closest to the unit vector `query`, best first, with exact cosine scores. With a graph:
   * oversampled candidates re-ranked exactly; with a tag filter or few vectors: an exact scan.
   */
  search(query: Float32Array, k: number, tags?: readonly string[]): VectorHit[] {
    const top = new TopK(k);
    const matches = (slot: number) => !tags || tags.every((tag) => this.slotTags[slot]!.includes(tag));
    if (!this.graphs || tags) {
      for (let slot = 0; slot < this.slotNotes.length; slot += 1) {
        const noteId = this.slotNotes[slot]!;
        if (noteId && matches(slot)) top.offer({ noteId, score: dot(this.arena, slot, query, this.dims) });
      }
      return top.hits;
    }
    for (const graph of this.graphs) {
      const size = graph.size();
      if (size === 0) continue;
      // At a fixed search breadth HNSW recall falls as the graph grows (recall@10 over one graph of 1M
      // notes: 0.77 with 120 candidates, 0.91 with 500): the candidate count, which is also the search's
      // breadth, grows with √n.
      const breadth = Math.ceil(Math.sqrt(size) / 2);
      const wanted = Math.min(size, Math.max(k * this.ann.oversample, this.ann.minCandidates, breadth));
      for (const key of graph.search(query, wanted, 1).keys) {
        const slot = Number(key);
        const noteId = this.slotNotes[slot];
        if (noteId) top.offer({ noteId, score: dot(this.arena, slot, query, this.dims) });
      }
    }
    return top.hits;
  }

  /** Exact scan regardless of the graph (the benchmark's ground truth). */
  exact(query: Float32Array, k: number): VectorHit[] {
    const top = new TopK(k);
    for (let slot = 0; slot < this.slotNotes.length; slot += 1) {
      const noteId = this.slotNotes[slot]!;
      if (noteId) top.offer({ noteId, score: dot(this.arena, slot, query, this.dims) });
    }
    return top.hits;
  }
}
