// Snapshots of an issued grant, stored as events in its own stream (app/handle.ts writes one every
// SNAPSHOT_EVERY events): a refresh then folds a bounded tail however many rotations came before.
// Only issued grants get one: the states before issuance are a handful of events by construction.
import type { GrantEvent, GrantSnapshot } from './events.ts';
import type { GrantState } from './state.ts';

export const SNAPSHOT_EVERY = 50;

export const toSnapshot = (state: GrantState): GrantEvent | undefined => {
  if (state.status !== 'active' && state.status !== 'revoked') return undefined;
  const { refresh, userId, codeHash, authTime, state: oauthState, nonce, ...rest } = state;
  return {
    type: 'GrantSnapshotted',
    data: {
      ...rest,
      ...(oauthState !== undefined ? { state: oauthState } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
      ...(userId !== undefined ? { userId } : {}),
      ...(codeHash !== undefined ? { codeHash } : {}),
      ...(authTime !== undefined ? { authTime } : {}),
      refresh: refresh.map(({ hash, ...entry }) => ({ refreshHash: hash, ...entry })),
      accessTokens: [...state.accessTokens],
      scopes: [...state.scopes],
    },
  };
};

export const fromSnapshot = (snapshot: GrantSnapshot): GrantState => {
  const { refresh, userId, codeHash, authTime, ...rest } = snapshot;
  return {
    ...rest,
    userId,
    codeHash,
    authTime,
    refresh: refresh.map(({ refreshHash, expiresAt, supersededAt }) =>
      supersededAt === undefined ? { hash: refreshHash, expiresAt } : { hash: refreshHash, expiresAt, supersededAt },
    ),
  };
};
