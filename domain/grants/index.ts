// The grant aggregate: stream `oauth-grant-<grantId>`. One authorization from request to revocation:
// AuthorizationRequested + (ConsentGiven + AuthorizationCodeIssued | ConsentDenied) in one append once the
// user answered → AuthorizationCodeRedeemed → RefreshTokenRotated… → GrantRevoked. Logs from before may
// hold a lone AuthorizationRequested and LoginFailed events; they still load. Codes and refresh tokens
// carry the grant id, so the token endpoint reads this stream (strongly consistent) and single use is
// enforced by the append's expected version.
import type { Decider } from '../shared.ts';
import { decideGrant } from './decide.ts';
import { GrantEvent } from './events.ts';
import { evolveGrant } from './evolve.ts';
import type { GrantCommand, GrantState } from './state.ts';

export { GrantEvent, AuthorizationRequest, IssuedTokens } from './events.ts';
export type { GrantCommand, GrantState, NewTokens, PendingAuthorization, RefreshEntry } from './state.ts';

export const grantStream = (grantId: string): string => `oauth-grant-${grantId}`;

export const grantDecider: Decider<GrantCommand, GrantEvent, GrantState> = {
  initialState: () => ({ status: 'absent' }),
  decide: decideGrant,
  evolve: evolveGrant,
  parse: (event) => GrantEvent.parse(event),
};
