// The memory vector index: a read model that lives in each instance's memory (not in PostgreSQL), built
// from the note events of the log and the embeddings cache, following the log live, and saved to disk with
// its log position so a restart continues from there instead of from zero.
//
// A note whose embedding is not in the cache when its event is read (the embedding is written after the
// append, or later by a backfill) waits in `pending`; a search looks those of its user up again first.
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { Logger } from '../../../../app/logger.ts';
import type { Queryable } from '../../../../db/database.ts';
import { NoteEvent } from '../../../../domain/memory/index.ts';
import {
  comparePositions,
  positionToString,
  START,
  type EventLog,
  type GlobalPosition,
  type RecordedEvent,
  type Subscription,
} from '../../../../eventstore/port.ts';
import { contentHash } from '../../../../projections/tools/memory.ts';
import { loadSnapshot, saveSnapshot, type PendingNote } from './snapshot.ts';
import { DEFAULT_ANN, SEGMENT_SLOTS, UserVectors, type AnnOptions, type VectorHit } from './user-vectors.ts';
import { cachedEmbeddings, dropUserEmbeddings } from '../../../../projections/tools/embeddings.queries.ts';
import { lastNoteWrite } from '../../../../projections/tools/memory.queries.ts';

const NOTE_EVENTS = new Set<string>(NoteEvent.options.map((option) => option.shape.type.value));
/** GDPR Art. 17 erasure of a user (users domain): their notes, and so their vectors, go. */
const ERASED = 'UserErased';
const Erased = z.object({ type: z.literal(ERASED), data: z.object({ userId: z.string() }) });
/** The cache holds each user's vectors apart (projections/tools/embeddings.queries.ts). */
const cacheKey = (userId: string, hash: string) => `${userId}\n${hash}`;

export type VectorIndexOptions = {
  model: string;
  /** Where snapshots go; undefined keeps the index in memory only (rebuilt from the log on each start). */
  dir: string | undefined;
  ann?: Partial<AnnOptions>;
  /** A snapshot is written at most this often while events arrive (and on close). */
  saveEveryMs?: number;
  batchSize?: number;
};

export class MemoryVectorIndex {
  private readonly emitter = new EventEmitter();
  private readonly ann: AnnOptions;
  private users = new Map<string, UserVectors>();
  private pending = new Map<string, PendingNote>();
  private position: GlobalPosition = START;
  /** The position of the snapshot this index started from, when it started from one. */
  restoredFrom: GlobalPosition | undefined;
  private logId = '';
  private subscription: Subscription | undefined;
  private failure: unknown;
  private dirty = false;
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly db: Queryable,
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly options: VectorIndexOptions,
  ) {
    this.ann = { ...DEFAULT_ANN, ...options.ann };
    this.emitter.setMaxListeners(0);
  }

  /** Loads the saved snapshot when it belongs to this log and model, then follows the log from its position. */
  async start(): Promise<void> {
    const [first] = await this.log.readAll({ maxCount: 1 });
    this.logId = first?.id ?? '';
    if (this.options.dir) {
      try {
        const snapshot = loadSnapshot(this.options.dir, this.ann);
        if (snapshot && 'stale' in snapshot)
          this.logger.info({ reason: snapshot.stale }, 'memory vector index on disk from another version: rebuilding');
        else if (snapshot && snapshot.model === this.options.model && snapshot.logId === this.logId) {
          this.users = snapshot.users;
          this.pending = snapshot.pending;
          this.position = snapshot.position;
          this.restoredFrom = snapshot.position;
          this.logger.info(
            { position: positionToString(this.position), users: this.users.size },
            'memory vector index loaded from disk',
          );
        }
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'memory vector index on disk unreadable: rebuilding');
      }
    }
    this.follow();
  }

  private follow(): void {
    this.subscription = this.log.subscribeAll({
      ...(comparePositions(this.position, START) > 0 ? { after: this.position } : {}),
      batchSize: this.options.batchSize ?? 1_000,
      onEvents: async (events) => {
        await this.apply(events);
        this.position = events[events.length - 1]!.position;
        this.emitter.emit('progress');
      },
      onError: (error) => {
        // Searches fall back to the SQL scan meanwhile; the index resumes from its position.
        this.failure = error;
        this.logger.warn({ err: (error as Error).message }, 'memory vector index stopped; retrying in 1 s');
        this.emitter.emit('progress');
        this.subscription = undefined;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          if (this.closed) return;
          this.failure = undefined;
          this.follow();
        }, 1_000);
        this.retryTimer.unref?.();
      },
    });
  }

  /** Applies one batch: note events (and erasures) in order, their embeddings looked up in one query. */
  private async apply(events: readonly RecordedEvent[]): Promise<void> {
    const relevant = events.filter((e) => NOTE_EVENTS.has(e.type) || e.type === ERASED);
    if (relevant.length === 0) return;
    if (!this.logId) {
      const [first] = await this.log.readAll({ maxCount: 1 });
      this.logId = first?.id ?? '';
    }
    const notes = relevant.map((e) => (e.type === ERASED ? Erased.parse(e) : NoteEvent.parse(e)));
    const wanted = notes.flatMap((n) =>
      n.type === 'MemoryStored' || n.type === 'MemoryUpdated'
        ? [{ userId: n.data.userId, hash: contentHash(n.data.title, n.data.content) }]
        : [],
    );
    const vectors = await this.lookup(wanted);
    const touched = new Set<UserVectors>();
    let erased = false;
    for (const event of notes) {
      if (event.type === ERASED) {
        this.drop(event.data.userId);
        // The erasing command deleted them already; a log imported from elsewhere did not.
        await dropUserEmbeddings(this.db, event.data.userId);
        erased = true;
        continue;
      }
      const { noteId, userId } = event.data;
      if (event.type === 'MemoryDeleted') {
        this.pending.delete(noteId);
        this.users.get(userId)?.remove(noteId);
        continue;
      }
      const hash = contentHash(event.data.title, event.data.content);
      const tags = event.data.tags;
      const previous = this.pending.get(noteId);
      // Same text as before (only the tags changed): the vector stays where it is.
      if (previous?.hash === hash) {
        previous.tags = tags;
        continue;
      }
      if (this.users.get(userId)?.retag(noteId, hash, tags)) continue;
      this.place(noteId, userId, hash, tags, vectors.get(cacheKey(userId, hash)), touched);
    }
    // A page of the log (a rebuild, a restart catching up) enters each user's graph as one batch, on one
    // thread: a parallel insertion builds a different graph each run, and where scores tie a different
    // graph returns different candidates, so a rebuild would not answer as the live index does.
    for (const user of touched) user.flush(1);
    this.changed();
    // Vectors are derived from the notes' text: an erased user's leave the disk now, not at the next save.
    if (erased) await this.save();
  }

  /** Forgets every vector and pending note of the user. */
  private drop(userId: string): void {
    this.users.delete(userId);
    for (const [noteId, p] of this.pending) if (p.userId === userId) this.pending.delete(noteId);
  }

  /** Puts the note's vector (deferred: the caller flushes every user in `touched` before it yields). */
  private place(
    noteId: string,
    userId: string,
    hash: string,
    tags: string[],
    vector: Float32Array | undefined,
    touched: Set<UserVectors>,
  ) {
    const user = this.users.get(userId);
    if (!vector) {
      user?.remove(noteId);
      this.pending.set(noteId, { userId, hash, tags });
      return;
    }
    this.pending.delete(noteId);
    let target = user;
    if (!target) {
      target = new UserVectors(vector.length, this.ann);
      this.users.set(userId, target);
    }
    if (target.dims !== vector.length) {
      this.logger.warn({ noteId, dims: vector.length }, 'embedding of another size than the index: not indexed');
      return;
    }
    target.put(noteId, vector, tags, hash, true);
    touched.add(target);
  }

  /** Unit float32 vectors of the users' cached embeddings of these texts (configured model), by cacheKey. */
  private async lookup(wanted: readonly { userId: string; hash: string }[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    if (wanted.length === 0) return found;
    const distinct = new Map(wanted.map((w) => [cacheKey(w.userId, w.hash), w]));
    const rows = await cachedEmbeddings(this.db, this.options.model, [...distinct.values()]);
    for (const row of rows) found.set(cacheKey(row.user_id, row.content_hash), Float32Array.from(row.vector));
    return found;
  }

  /** Notes of this user read before their embedding existed: look them up again (cheap when there are none). */
  private async resolvePending(userId: string): Promise<void> {
    const mine = [...this.pending].filter(([, p]) => p.userId === userId);
    if (mine.length === 0) return;
    const vectors = await this.lookup(mine.map(([, p]) => ({ userId, hash: p.hash })));
    const touched = new Set<UserVectors>();
    let placed = false;
    for (const [noteId, p] of mine) {
      const vector = vectors.get(cacheKey(userId, p.hash));
      // Only if still pending with that text: an event applied meanwhile wins.
      if (vector && this.pending.get(noteId)?.hash === p.hash) {
        this.place(noteId, userId, p.hash, p.tags, vector, touched);
        placed = true;
      }
    }
    for (const user of touched) user.flush(1);
    if (placed) this.changed();
  }

  /** Resolves once the index has applied every event up to `position` (a write the caller made). */
  async waitFor(position: GlobalPosition, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (comparePositions(this.position, position) < 0) {
      if (this.failure) throw new Error(`the memory vector index has stopped: ${(this.failure as Error).message}`);
      if (Date.now() > deadline) throw new Error('timed out waiting for the memory vector index');
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.emitter.off('progress', done);
          resolve();
        };
        const timer = setTimeout(done, 25);
        this.emitter.once('progress', done);
      });
    }
  }

  /**
   * Read-your-writes across instances: a note write returns only once `memory_note_writes` holds its
   * position, so waiting for the user's row there covers the caller's last write, whichever instance took it.
   */
  async catchUp(userId: string): Promise<void> {
    const row = await lastNoteWrite(this.db, userId);
    if (row) await this.waitFor({ commit: BigInt(row.commit), prepare: BigInt(row.prepare) });
  }

  /** The user's k nearest notes to the unit vector `query` (exact cosine scores, ties by note id). */
  async search(userId: string, query: readonly number[], k: number, tags?: readonly string[]): Promise<VectorHit[]> {
    await this.catchUp(userId);
    await this.resolvePending(userId);
    const user = this.users.get(userId);
    if (!user || user.dims !== query.length) return [];
    return user.search(Float32Array.from(query), k, tags);
  }

  /** Indexed vectors and notes still waiting for an embedding (status, tests, benchmark). */
  stats(): { users: number; vectors: number; pending: number; position: GlobalPosition } {
    let vectors = 0;
    for (const user of this.users.values()) vectors += user.size;
    return { users: this.users.size, vectors, pending: this.pending.size, position: this.position };
  }

  /** Installs a user's vectors built elsewhere (the benchmark builds them without the embeddings cache). */
  adopt(userId: string, vectors: UserVectors): void {
    this.users.set(userId, vectors);
  }

  /** One user's vectors (tests compare the graph with an exact scan over them). */
  userVectors(userId: string): UserVectors | undefined {
    return this.users.get(userId);
  }

  private changed(): void {
    this.dirty = true;
    if (this.options.dir && !this.saveTimer) {
      this.saveTimer = setTimeout(() => void this.save(), this.options.saveEveryMs ?? 30_000);
      this.saveTimer.unref?.();
    }
  }

  /** Writes a snapshot now if anything changed since the last one (one save at a time). */
  save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const dir = this.options.dir;
    if (!dir || !this.dirty) return this.saving;
    this.dirty = false;
    const snapshot = {
      model: this.options.model,
      segmentSlots: this.ann.segmentSlots ?? SEGMENT_SLOTS,
      logId: this.logId,
      position: this.position,
      pending: new Map([...this.pending].map(([id, p]) => [id, { ...p }])),
      users: this.users,
    };
    this.saving = this.saving
      .then(() => saveSnapshot(dir, snapshot))
      .catch((error: unknown) => {
        this.dirty = true;
        this.logger.warn({ err: (error as Error).message }, 'could not save the memory vector index');
      });
    return this.saving;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.subscription?.close();
    this.subscription = undefined;
    await this.save();
  }
}
