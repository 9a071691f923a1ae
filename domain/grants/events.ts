import { z } from 'zod';

/** What one token response handed out (the refresh token only as its SHA-256). */
export const IssuedTokens = z.object({
  accessTokenId: z.string(),
  accessExpiresAt: z.string(),
  scopes: z.array(z.string()),
  refreshHash: z.string().optional(),
  refreshExpiresAt: z.string().optional(),
});
export type IssuedTokens = z.infer<typeof IssuedTokens>;

export const AuthorizationRequest = z.object({
  clientId: z.string(),
  redirectUri: z.string(),
  scopes: z.array(z.string()),
  /** RFC 8707 resource the tokens are for (their `aud`). */
  resource: z.string(),
  codeChallenge: z.string(),
  state: z.string().optional(),
  nonce: z.string().optional(),
});
export type AuthorizationRequest = z.infer<typeof AuthorizationRequest>;

const at = z.string();
const grantId = z.string();

/** An issued grant's decision state (domain/grants/state.ts), bounded; refresh hashes named as in the events. */
export const GrantSnapshot = AuthorizationRequest.extend({
  grantId,
  expiresAt: z.string(),
  status: z.enum(['active', 'revoked']),
  userId: z.string().optional(),
  codeHash: z.string().optional(),
  authTime: z.string().optional(),
  refresh: z.array(z.object({ refreshHash: z.string(), expiresAt: z.string(), supersededAt: z.string().optional() })),
  accessTokens: z.array(z.object({ id: z.string(), expiresAt: z.string() })),
})
  // A state field added later rides along in the snapshot instead of being dropped by the parse.
  .loose();
export type GrantSnapshot = z.infer<typeof GrantSnapshot>;

export const GrantEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('AuthorizationRequested'),
    data: AuthorizationRequest.extend({ grantId, expiresAt: z.string(), at }),
  }),
  // Written by earlier versions only (failed sign-ins now belong to the login throttle); kept so old logs load.
  z.object({ type: z.literal('LoginFailed'), data: z.object({ grantId, email: z.string(), at }) }),
  z.object({
    type: z.literal('ConsentGiven'),
    data: z.object({
      grantId,
      userId: z.string(),
      clientId: z.string(),
      scopes: z.array(z.string()),
      remembered: z.boolean(),
      at,
    }),
  }),
  z.object({ type: z.literal('ConsentDenied'), data: z.object({ grantId, userId: z.string(), at }) }),
  z.object({
    type: z.literal('AuthorizationCodeIssued'),
    data: z.object({
      grantId,
      userId: z.string(),
      codeHash: z.string(),
      expiresAt: z.string(),
      authTime: z.string(),
      at,
    }),
  }),
  z.object({
    type: z.literal('AuthorizationCodeRedeemed'),
    data: z.object({
      grantId,
      clientId: z.string(),
      userId: z.string(),
      resource: z.string(),
      tokens: IssuedTokens,
      at,
    }),
  }),
  z.object({
    type: z.literal('RefreshTokenRotated'),
    data: z.object({
      grantId,
      clientId: z.string(),
      userId: z.string(),
      resource: z.string(),
      previousHash: z.string(),
      tokens: IssuedTokens,
      at,
    }),
  }),
  z.object({
    type: z.literal('ClientCredentialsIssued'),
    data: z.object({
      grantId,
      clientId: z.string(),
      /** The machine client's service user (the token's `sub`); absent in grants issued before it was bound. */
      userId: z.string().optional(),
      resource: z.string(),
      tokens: IssuedTokens,
      at,
    }),
  }),
  z.object({ type: z.literal('AccessTokenRevoked'), data: z.object({ grantId, accessTokenId: z.string(), at }) }),
  // The grant's state as of this point (handle.ts writes it beside a command's events every
  // SNAPSHOT_EVERY events), so a load folds from here instead of from the stream's first event.
  z.object({ type: z.literal('GrantSnapshotted'), data: GrantSnapshot }),
  z.object({
    type: z.literal('GrantRevoked'),
    data: z.object({
      grantId,
      reason: z.enum(['code_replay', 'refresh_reuse', 'revoked', 'user_disabled', 'password_changed']),
      at,
    }),
  }),
]);
export type GrantEvent = z.infer<typeof GrantEvent>;
