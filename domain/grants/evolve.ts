import { assertNever } from '../shared.ts';
import type { GrantEvent, IssuedTokens } from './events.ts';
import { ACCESS_WINDOW, REFRESH_WINDOW, type GrantState, type RefreshEntry } from './state.ts';
import { fromSnapshot } from './snapshot.ts';

const addTokens = (
  refresh: readonly RefreshEntry[],
  tokens: IssuedTokens,
  at: string,
  previousHash?: string,
): RefreshEntry[] =>
  [
    ...refresh.map((entry) =>
      entry.hash === previousHash && !entry.supersededAt ? { ...entry, supersededAt: at } : entry,
    ),
    ...(tokens.refreshHash && tokens.refreshExpiresAt
      ? [{ hash: tokens.refreshHash, expiresAt: tokens.refreshExpiresAt }]
      : []),
  ].slice(-REFRESH_WINDOW);

export const evolveGrant = (state: GrantState, event: GrantEvent): GrantState => {
  switch (event.type) {
    case 'AuthorizationRequested': {
      const { at: _at, ...request } = event.data;
      return { status: 'requested', ...request };
    }
    case 'LoginFailed':
    case 'ConsentGiven':
      return state.status === 'requested' && event.type === 'ConsentGiven'
        ? { ...state, scopes: event.data.scopes }
        : state;
    case 'ConsentDenied':
      return state.status === 'requested' ? { ...state, status: 'denied' } : state;
    case 'AuthorizationCodeIssued':
      if (state.status !== 'requested') return state;
      return {
        ...state,
        status: 'code_issued',
        userId: event.data.userId,
        codeHash: event.data.codeHash,
        codeExpiresAt: event.data.expiresAt,
        authTime: event.data.authTime,
      };
    case 'AuthorizationCodeRedeemed': {
      if (state.status !== 'code_issued') return state;
      const { codeExpiresAt: _c, ...rest } = state;
      const tokens = event.data.tokens;
      return {
        ...rest,
        status: 'active',
        scopes: tokens.scopes,
        refresh: addTokens([], tokens, event.data.at),
        accessTokens: [{ id: tokens.accessTokenId, expiresAt: tokens.accessExpiresAt }],
      };
    }
    case 'RefreshTokenRotated': {
      if (state.status !== 'active') return state;
      const tokens = event.data.tokens;
      return {
        ...state,
        refresh: addTokens(state.refresh, tokens, event.data.at, event.data.previousHash),
        accessTokens: [
          ...state.accessTokens.filter((token) => token.expiresAt > event.data.at),
          { id: tokens.accessTokenId, expiresAt: tokens.accessExpiresAt },
        ].slice(-ACCESS_WINDOW),
      };
    }
    case 'ClientCredentialsIssued': {
      const tokens = event.data.tokens;
      return {
        status: 'active',
        grantId: event.data.grantId,
        clientId: event.data.clientId,
        redirectUri: '',
        scopes: tokens.scopes,
        resource: event.data.resource,
        codeChallenge: '',
        expiresAt: tokens.accessExpiresAt,
        userId: event.data.userId,
        codeHash: undefined,
        authTime: undefined,
        refresh: [],
        accessTokens: [{ id: tokens.accessTokenId, expiresAt: tokens.accessExpiresAt }],
      };
    }
    case 'AccessTokenRevoked':
      return state;
    case 'GrantSnapshotted':
      return fromSnapshot(event.data);
    case 'GrantRevoked':
      return state.status === 'active'
        ? { ...state, status: 'revoked' }
        : state.status === 'absent'
          ? state
          : { ...state, status: 'denied' };
    default:
      return assertNever(event);
  }
};
