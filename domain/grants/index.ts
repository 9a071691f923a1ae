// The grant aggregate: stream `oauth-grant-<grantId>`. One authorization from request to revocation:
// AuthorizationRequested + (ConsentGiven + AuthorizationCodeIssued | ConsentDenied) in one append once the
// user answered → AuthorizationCodeRedeemed → RefreshTokenRotated… (a GrantSnapshotted every SNAPSHOT_EVERY
// events, so loads stay flat however old the grant) → GrantRevoked. Logs from before may
// hold a lone AuthorizationRequested and LoginFailed events; they still load. Codes and refresh tokens
// carry the grant id, so the token endpoint reads this stream (strongly consistent) and single use is
// enforced by the append's expected version.
import type { Decider } from '../shared.ts';
import { decideGrant } from './decide.ts';
import { GrantEvent } from './events.ts';
import { evolveGrant } from './evolve.ts';
import { SNAPSHOT_EVERY, toSnapshot } from './snapshot.ts';
import type { GrantCommand, GrantState } from './state.ts';

export { GrantEvent, AuthorizationRequest, IssuedTokens } from './events.ts';
export type {
  EarlierRefresh,
  GrantCommand,
  GrantState,
  NewTokens,
  PendingAuthorization,
  RefreshEntry,
} from './state.ts';
export { ACCESS_WINDOW, REFRESH_WINDOW } from './state.ts';
export { SNAPSHOT_EVERY } from './snapshot.ts';

export const grantStream = (grantId: string): string => `oauth-grant-${grantId}`;

export const grantDecider: Decider<GrantCommand, GrantEvent, GrantState> = {
  initialState: () => ({ status: 'absent' }),
  decide: decideGrant,
  evolve: evolveGrant,
  parse: (event) => GrantEvent.parse(event),
  snapshot: { types: ['GrantSnapshotted'], every: SNAPSHOT_EVERY, take: toSnapshot },
};
