// A short cache of user rows for the per-call lookups of tools (system_whoami, the admin check of the
// host-detail tools): every call of such a tool read the users table, which cost PostgreSQL as much as
// the rest of the call.
//
// The same bound as the token verifier's cache (app/oauth/verifier.ts): a change to a user appended
// through this process (roles, status, erasure, an edit) drops the entry at once and stops caching for
// BYPASS_MS, so the read model's row is read fresh until the projection has surely applied it; a change
// made by another instance is seen within CACHE_MS plus that instance's projection lag.
import type { EventEmitter } from 'node:events';
import { userStream } from '../domain/users/index.ts';

export const RECENT_USER_MS = 500;
const BYPASS_MS = 3_000;
const MAX_ENTRIES = 10_000;
const USER_STREAM_PREFIX = userStream('');

export class RecentUsers<Row> {
  private readonly cache = new Map<string, { row: Row | undefined; readAt: number }>();
  /** Moves on every local append to a user stream: a read that overlapped one is not kept. */
  private epoch = 0;
  private bypassUntil = 0;
  private readonly reading = new Map<string, { row: Promise<Row | undefined>; epoch: number }>();

  constructor(
    private readonly read: (id: string) => Promise<Row | undefined>,
    appends: EventEmitter | undefined,
  ) {
    appends?.on('append', (stream: string) => {
      if (!stream.startsWith(USER_STREAM_PREFIX)) return;
      this.epoch += 1;
      this.cache.clear();
      this.bypassUntil = Date.now() + BYPASS_MS;
    });
  }

  get(id: string): Promise<Row | undefined> {
    const started = Date.now();
    const hit = this.cache.get(id);
    if (hit && started - hit.readAt < RECENT_USER_MS && started >= this.bypassUntil) return Promise.resolve(hit.row);
    // Lookups that missed together share one read, unless a user append came since it started.
    const pending = this.reading.get(id);
    if (pending && pending.epoch === this.epoch) return pending.row;
    const epoch = this.epoch;
    const row = this.read(id).then((found) => {
      if (epoch === this.epoch && Date.now() >= this.bypassUntil) {
        if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
        this.cache.set(id, { row: found, readAt: started });
      }
      return found;
    });
    const settled = () => {
      if (this.reading.get(id)?.row === row) this.reading.delete(id);
    };
    row.then(settled, settled);
    this.reading.set(id, { row, epoch });
    return row;
  }
}
