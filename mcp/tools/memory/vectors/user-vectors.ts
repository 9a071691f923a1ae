// One user's note vectors: the unit vectors in a float32 arena (exact scores), and an HNSW graph (usearch)
// over them once there are enough to make a scan slow. Each user has their own, so one user's search can
// never meet another user's notes, and the graph needs no filter.
import { Index, MetricKind, ScalarKind } from 'usearch';

export type VectorHit = { noteId: string; score: number };

export type AnnOptions = {
  /** Below this many vectors a search scans them all (exact, and faster than a graph at that size). */
  annThreshold: number;
  /** Candidates asked of the graph per result wanted; they are re-ranked exactly. */
  oversample: number;
  /** Never fewer candidates than this. */
  minCandidates: number;
};

export const DEFAULT_ANN: AnnOptions = { annThreshold: 2_000, oversample: 4, minCandidates: 100 };

/**
 * How a graph is built (HNSW, Malkov & Yashunin 2018): `connectivity` is M, the links a node keeps per
 * layer (2M on the ground layer); `expansionAdd` is the beam with which an insertion looks for them. A
 * snapshot records them, and one saved with other values is rebuilt: the same log must give the same graph.
 */
export type GraphParams = { connectivity: number; expansionAdd: number };

// M 24 / beam 96 (was 16 / 64): at 1M notes in 1,000 clustered topics the M 16 graph capped recall@10
// at 0.91 however wide the search: some notes had no path left to them. More links cost build time.
export const GRAPH: GraphParams = { connectivity: 24, expansionAdd: 96 };
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
  graph: Index | undefined;
  /** Slots put while a graph exists but not added to it yet (ascending). */
  private unindexed: number[] = [];

  constructor(
    readonly dims: number,
    private readonly ann: AnnOptions,
    capacity = 64,
  ) {
    this.arena = new Float32Array(capacity * dims);
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
    if (this.graph) this.unindexed.push(slot);
    else if (this.size >= this.ann.annThreshold) this.buildGraph();
    if (!deferred) this.flush();
  }

  /**
   * Adds the vectors put since the last flush to the graph in one call: usearch spreads a batch over
   * `threads` (0: every core), so a replay adds each page of the log in parallel. One vector (the live path)
   * goes on the calling thread: spawning workers for it would cost more than the insertion.
   */
  flush(threads = 0): void {
    const graph = this.graph;
    const slots = this.unindexed.filter((slot) => this.slotNotes[slot] !== '');
    this.unindexed = [];
    if (!graph || slots.length === 0) return;
    if (slots.length === 1) {
      const slot = slots[0]!;
      graph.add(BigInt(slot), this.arena.subarray(slot * this.dims, (slot + 1) * this.dims), 1);
      return;
    }
    graph.add(
      BigUint64Array.from(slots, (slot) => BigInt(slot)),
      this.gather(slots),
      threads,
    );
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
    if (this.graph && !this.unindexed.includes(slot)) this.graph.remove(BigInt(slot));
  }

  /** Builds the graph from the arena in one batch (at the threshold, or after loading without a saved graph). */
  buildGraph(threads = 0): void {
    const graph = newGraph(this.dims);
    const live = [...this.slots.values()].sort((a, b) => a - b);
    if (live.length > 0)
      graph.add(
        BigUint64Array.from(live, (slot) => BigInt(slot)),
        this.gather(live),
        threads,
      );
    this.graph = graph;
    this.unindexed = [];
  }

  /**
   * The k notes closest to the unit vector `query`, best first, with exact cosine scores. With a graph:
   * oversampled candidates re-ranked exactly; with a tag filter or few vectors: an exact scan.
   */
  search(query: Float32Array, k: number, tags?: readonly string[]): VectorHit[] {
    const top = new TopK(k);
    const matches = (slot: number) => !tags || tags.every((tag) => this.slotTags[slot]!.includes(tag));
    if (!this.graph || tags) {
      for (let slot = 0; slot < this.slotNotes.length; slot += 1) {
        const noteId = this.slotNotes[slot]!;
        if (noteId && matches(slot)) top.offer({ noteId, score: dot(this.arena, slot, query, this.dims) });
      }
      return top.hits;
    }
    // At a fixed search breadth HNSW recall falls as the graph grows (recall@10 at 1M notes: 0.77 with 120
    // candidates, 0.91 with 500): the candidate count, which is also the search's breadth, grows with √n.
    const breadth = Math.ceil(Math.sqrt(this.size) / 2);
    const wanted = Math.min(this.size, Math.max(k * this.ann.oversample, this.ann.minCandidates, breadth));
    const candidates = this.graph.search(query, wanted, 1);
    for (const key of candidates.keys) {
      const slot = Number(key);
      const noteId = this.slotNotes[slot];
      if (noteId) top.offer({ noteId, score: dot(this.arena, slot, query, this.dims) });
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
