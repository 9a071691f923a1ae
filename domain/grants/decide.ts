import { DomainError, assertNever } from '../shared.ts';
import type { GrantEvent, IssuedTokens } from './events.ts';
import type { GrantCommand, GrantState, NewTokens, PendingAuthorization } from './state.ts';

// Error codes are the RFC 6749 §5.2 ones, so the token endpoint can pass them through.
const invalidGrant = (message: string) => new DomainError('invalid_grant', message);

const withScopes = (tokens: NewTokens, scopes: readonly string[]): IssuedTokens => ({ ...tokens, scopes: [...scopes] });

/**
 * RFC 8707 §2: the resource asked for at the token endpoint must be the one the grant was for. `names`
 * are the other spellings of the requested resource (one server under several loopback names).
 */
const checkResource = (requested: string | undefined, granted: string, names: readonly string[] = []): void => {
  if (requested !== undefined && requested !== granted && !(names.includes(requested) && names.includes(granted)))
    throw new DomainError('invalid_target', 'the resource does not match the authorization');
};

type Requested = Extract<GrantEvent, { type: 'AuthorizationRequested' }>;

/**
 * The request is recorded only together with the user's answer, in one append: nothing permanent for a
 * visit that goes nowhere. A stream that exists already means the request was answered (single use).
 */
const requestedWithAnswer = (request: PendingAuthorization, state: GrantState, at: string): Requested => {
  if (state.status !== 'absent')
    throw new DomainError(
      'request_expired',
      'this sign-in request was already answered; start again from the application',
    );
  if (request.expiresAt.toISOString() <= at)
    throw new DomainError('request_expired', 'this sign-in request has expired; start again from the application');
  return {
    type: 'AuthorizationRequested',
    data: {
      grantId: request.grantId,
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      scopes: [...request.scopes],
      resource: request.resource,
      codeChallenge: request.codeChallenge,
      ...(request.state !== undefined ? { state: request.state } : {}),
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      expiresAt: request.expiresAt.toISOString(),
      at: request.requestedAt.toISOString(),
    },
  };
};

export const decideGrant = (command: GrantCommand, state: GrantState): GrantEvent[] => {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'Approve': {
      const requested = requestedWithAnswer(command.request, state, at);
      return [
        requested,
        {
          type: 'ConsentGiven',
          data: {
            grantId: requested.data.grantId,
            userId: command.userId,
            clientId: requested.data.clientId,
            scopes: requested.data.scopes,
            remembered: command.remembered,
            at,
          },
        },
        {
          type: 'AuthorizationCodeIssued',
          data: {
            grantId: requested.data.grantId,
            userId: command.userId,
            codeHash: command.codeHash,
            expiresAt: command.codeExpiresAt.toISOString(),
            authTime: command.authTime.toISOString(),
            at,
          },
        },
      ];
    }
    case 'Deny': {
      const requested = requestedWithAnswer(command.request, state, at);
      return [
        requested,
        { type: 'ConsentDenied', data: { grantId: requested.data.grantId, userId: command.userId, at } },
      ];
    }
    case 'RedeemCode': {
      // RFC 9700 §4.5 / OAuth 2.1 §4.1.3: a code presented again revokes what it produced. The caller
      // sees invalid_grant whenever no AuthorizationCodeRedeemed comes back.
      if ((state.status === 'active' || state.status === 'revoked') && state.codeHash === command.codeHash) {
        return state.status === 'active'
          ? [{ type: 'GrantRevoked', data: { grantId: state.grantId, reason: 'code_replay', at } }]
          : [];
      }
      if (state.status !== 'code_issued' || state.codeHash !== command.codeHash)
        throw invalidGrant('the authorization code is invalid');
      if (state.codeExpiresAt <= at) throw invalidGrant('the authorization code has expired');
      if (state.clientId !== command.clientId)
        throw invalidGrant('the authorization code was issued to another client');
      // OAuth 2.1 §4.1.3: redirect_uri must be identical to the one in the authorization request.
      if (command.redirectUri !== undefined && command.redirectUri !== state.redirectUri)
        throw invalidGrant('redirect_uri does not match the authorization request');
      // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the stored code_challenge.
      if (command.verifierChallenge === undefined)
        throw new DomainError('invalid_request', 'code_verifier is required');
      if (command.verifierChallenge !== state.codeChallenge) throw invalidGrant('PKCE verification failed');
      checkResource(command.resource, state.resource, command.resourceNames);
      return [
        {
          type: 'AuthorizationCodeRedeemed',
          data: {
            grantId: state.grantId,
            clientId: state.clientId,
            userId: state.userId,
            resource: state.resource,
            tokens: withScopes(command.tokens, state.scopes),
            at,
          },
        },
      ];
    }
    case 'Refresh': {
      if (
        state.status === 'absent' ||
        state.status === 'requested' ||
        state.status === 'denied' ||
        state.status === 'code_issued'
      )
        throw invalidGrant('the refresh token is invalid');
      const entry = state.refresh.find((candidate) => candidate.hash === command.refreshHash);
      if ((!entry && !command.earlier) || state.clientId !== command.clientId)
        throw invalidGrant('the refresh token is invalid');
      if (state.status === 'revoked') throw invalidGrant('the grant was revoked');
      if (!entry) {
        // An earlier token than the state keeps: superseded long ago, so (RFC 9700 §4.14.2) presenting it
        // within its lifetime means it leaked.
        if (command.earlier!.expiresAt <= at) throw invalidGrant('the refresh token has expired');
        return [{ type: 'GrantRevoked', data: { grantId: state.grantId, reason: 'refresh_reuse', at } }];
      }
      if (entry.expiresAt <= at) throw invalidGrant('the refresh token has expired');
      if (entry.supersededAt && Date.parse(entry.supersededAt) + command.graceMs < command.now.getTime()) {
        // RFC 9700 §4.14.2: a rotated refresh token used again means it leaked: revoke the grant.
        return [{ type: 'GrantRevoked', data: { grantId: state.grantId, reason: 'refresh_reuse', at } }];
      }
      // RFC 6749 §6: the new scope may not include any scope not originally granted.
      const scopes = command.scopes ?? state.scopes;
      if (scopes.some((scope) => !state.scopes.includes(scope)))
        throw new DomainError('invalid_scope', 'a refresh cannot widen the granted scopes');
      checkResource(command.resource, state.resource, command.resourceNames);
      if (state.userId === undefined) throw invalidGrant('the refresh token is invalid');
      return [
        {
          type: 'RefreshTokenRotated',
          data: {
            grantId: state.grantId,
            clientId: state.clientId,
            userId: state.userId,
            resource: state.resource,
            previousHash: entry.hash,
            tokens: withScopes(command.tokens, scopes),
            at,
          },
        },
      ];
    }
    case 'IssueClientCredentials':
      if (state.status !== 'absent') throw new DomainError('grant_exists', 'this grant already exists');
      return [
        {
          type: 'ClientCredentialsIssued',
          data: {
            grantId: command.grantId,
            clientId: command.clientId,
            userId: command.userId,
            resource: command.resource,
            tokens: withScopes(command.tokens, command.scopes),
            at,
          },
        },
      ];
    case 'RevokeAccessToken':
      if (state.status !== 'active') return [];
      if (!command.verified && !state.accessTokens.some((token) => token.id === command.accessTokenId)) return [];
      return [
        { type: 'AccessTokenRevoked', data: { grantId: state.grantId, accessTokenId: command.accessTokenId, at } },
      ];
    case 'RevokeGrant':
      // Idempotent; revoking a pending request stops it from ever producing a code.
      if (state.status === 'absent' || state.status === 'revoked' || state.status === 'denied') return [];
      return [{ type: 'GrantRevoked', data: { grantId: state.grantId, reason: command.reason, at } }];
    default:
      return assertNever(command);
  }
};
