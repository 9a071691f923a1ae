// What the admin panel says about stateless (2026-07-28) clients, which have no session: one row per
// grant, live when it made a call in the last LIVE_WINDOW_MS or holds a subscriptions/listen stream on
// this instance (a stream lives on one instance, as a session's GET stream does), ended once revoked.
import type { Queryable } from '../../db/database.ts';
import { LIVE_WINDOW_MS, type Liveness } from '../activity.ts';
import type { EventLogBus } from './event-bus.ts';
import { revokedGrantIds } from '../../projections/oauth/grants.queries.ts';
import { statelessCallsByGrant } from '../../projections/tools/calls.queries.ts';

export type StatelessClient = {
  readonly grantId: string;
  readonly userId: string;
  readonly clientId: string;
  readonly state: Liveness;
  readonly lastCallAt: Date | undefined;
  readonly calls: number;
  readonly listenStreams: number;
};

/** How far back the panel looks for sessionless calls. */
const HISTORY_MS = 24 * 3600_000;

export const statelessClients = async (
  db: Queryable,
  bus: Pick<EventLogBus, 'listenOwners'>,
  now = new Date(),
  limit = 100,
): Promise<StatelessClient[]> => {
  // Calls without a session are the modern path's (and durable tasks'); token ids are `<grantId>.<random>`.
  const rows = await statelessCallsByGrant(db, new Date(now.getTime() - HISTORY_MS), limit);
  const byGrant = new Map<string, Omit<StatelessClient, 'state'>>();
  for (const row of rows)
    byGrant.set(row.grant_id, {
      grantId: row.grant_id,
      userId: row.user_id,
      clientId: row.client_id,
      lastCallAt: row.last_call,
      calls: Number(row.calls),
      listenStreams: 0,
    });
  for (const owner of bus.listenOwners()) {
    const known = byGrant.get(owner.grantId);
    byGrant.set(owner.grantId, {
      ...(known ?? {
        grantId: owner.grantId,
        userId: owner.userId,
        clientId: owner.clientId,
        lastCallAt: undefined,
        calls: 0,
      }),
      listenStreams: owner.streams,
    });
  }
  if (byGrant.size === 0) return [];
  const revoked = new Set(await revokedGrantIds(db, [...byGrant.keys()]));
  return [...byGrant.values()].map((client) => ({
    ...client,
    state: revoked.has(client.grantId)
      ? 'ended'
      : client.listenStreams > 0 ||
          (client.lastCallAt !== undefined && now.getTime() - client.lastCallAt.getTime() < LIVE_WINDOW_MS)
        ? 'live'
        : 'idle',
  }));
};
