// The service users behind machine clients, as client_credentials needs them: may this user still get
// tokens? Read from the user's stream (not the read model, which trails the log) and kept briefly, as
// registered clients are (app/oauth/clients.ts), so a busy machine client costs no read per token.
import { userDecider, userStream, type UserState } from '../../domain/users/index.ts';
import type { CoreServices } from '../core.ts';
import { loadAggregate } from '../handle.ts';
import { CLIENT_CACHE_MS } from './clients.ts';

const USER_STREAM_PREFIX = userStream('');
const MAX_ENTRIES = 10_000;

export class ServiceUsers {
  private readonly cache = new Map<string, { state: UserState; readAt: number }>();
  private readonly reading = new Map<string, { epoch: number; state: Promise<UserState> }>();
  /** Moves on every local append to a user stream: a read that overlapped one is neither kept nor shared. */
  private epoch = 0;
  /**
   * How long a state read from the stream answers without another read. A change made through this
   * process (disable, role change, erasure) drops the entry at once; one made by another instance (or the
   * CLI) is seen within this time, as for registered clients.
   */
  cacheMs = CLIENT_CACHE_MS;

  constructor(private readonly core: Pick<CoreServices, 'log' | 'appends'>) {
    core.appends.on('append', (stream: string) => {
      if (!stream.startsWith(USER_STREAM_PREFIX)) return;
      this.epoch += 1;
      this.cache.delete(stream.slice(USER_STREAM_PREFIX.length));
    });
  }

  /** True while the user exists, is active and has the service role. */
  async mayUseClientCredentials(userId: string): Promise<boolean> {
    const state = await this.state(userId);
    return state.status === 'active' && state.roles.includes('service');
  }

  private async state(userId: string): Promise<UserState> {
    const started = Date.now();
    const hit = this.cache.get(userId);
    if (hit && started - hit.readAt < this.cacheMs) return hit.state;
    // Requests that miss together share one read (a busy client's entry expires under many at once).
    const epoch = this.epoch;
    const pending = this.reading.get(userId);
    if (pending?.epoch === epoch) return pending.state;
    const state = loadAggregate(this.core.log, userStream(userId), userDecider).then((loaded) => loaded.state);
    this.reading.set(userId, { epoch, state });
    try {
      const read = await state;
      if (epoch === this.epoch) {
        if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
        this.cache.set(userId, { state: read, readAt: started });
      }
      return read;
    } finally {
      if (this.reading.get(userId)?.state === state) this.reading.delete(userId);
    }
  }
}
