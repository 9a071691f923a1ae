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
  /** Moves on every local append to a user stream: a read that overlapped one is not kept. */
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
    const epoch = this.epoch;
    const { state } = await loadAggregate(this.core.log, userStream(userId), userDecider);
    if (epoch === this.epoch) {
      if (this.cache.size >= MAX_ENTRIES) this.cache.clear();
      this.cache.set(userId, { state, readAt: started });
    }
    return state;
  }
}
