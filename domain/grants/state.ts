import type { AuthorizationRequest, IssuedTokens } from './events.ts';

/** One refresh token of the grant: valid until superseded (then for the grace window) or expired. */
export type RefreshEntry = { readonly hash: string; readonly expiresAt: string; readonly supersededAt?: string };

/**
 * State keeps the newest refresh tokens only, so it does not grow with the grant's age. Older ones are
 * looked up by hash in the `oauth_refresh_tokens` read model and arrive in the Refresh command; the
 * window is wide enough that a token the read model may not have seen yet is always still in state.
 */
export const REFRESH_WINDOW = 16;
/** Newest access tokens kept for RevokeAccessToken (expired ones are dropped on each rotation too). */
export const ACCESS_WINDOW = 32;

/** What the read model knows of a refresh token this grant issued that is no longer in state. */
export type EarlierRefresh = { readonly expiresAt: string };

type Requested = AuthorizationRequest & { readonly grantId: string; readonly expiresAt: string };

/**
 * A request that waited (in the browser, not in the log) for the user's answer: it becomes the stream's
 * first event only together with that answer, so an anonymous visit writes nothing.
 */
export type PendingAuthorization = AuthorizationRequest & {
  readonly grantId: string;
  readonly requestedAt: Date;
  readonly expiresAt: Date;
};

export type GrantState =
  | { readonly status: 'absent' }
  | ({ readonly status: 'requested' } & Requested)
  | ({ readonly status: 'denied' } & Requested)
  | ({
      readonly status: 'code_issued';
      readonly userId: string;
      readonly codeHash: string;
      readonly codeExpiresAt: string;
      readonly authTime: string;
    } & Requested)
  | ({
      readonly status: 'active' | 'revoked';
      /** The user (a service user for client_credentials; undefined in such grants issued before that). */
      readonly userId: string | undefined;
      readonly codeHash: string | undefined;
      readonly authTime: string | undefined;
      readonly refresh: readonly RefreshEntry[];
      readonly accessTokens: readonly { readonly id: string; readonly expiresAt: string }[];
    } & Requested);

/** New tokens arrive in the command (ids and hashes are made outside the domain). */
export type NewTokens = Omit<IssuedTokens, 'scopes'>;

export type GrantCommand =
  | {
      type: 'Approve';
      request: PendingAuthorization;
      userId: string;
      authTime: Date;
      codeHash: string;
      codeExpiresAt: Date;
      remembered: boolean;
      now: Date;
    }
  | { type: 'Deny'; request: PendingAuthorization; userId: string; now: Date }
  | {
      type: 'RedeemCode';
      codeHash: string;
      clientId: string;
      redirectUri: string | undefined;
      verifierChallenge: string | undefined;
      resource: string | undefined;
      /** Other names of the same resource (RFC 8707 §2 compares what is named, not the spelling). */
      resourceNames?: readonly string[];
      tokens: NewTokens;
      now: Date;
    }
  | {
      type: 'Refresh';
      refreshHash: string;
      clientId: string;
      scopes: string[] | undefined;
      resource: string | undefined;
      /** Other names of the same resource (RFC 8707 §2 compares what is named, not the spelling). */
      resourceNames?: readonly string[];
      tokens: NewTokens;
      graceMs: number;
      /** Set when the hash is not among the state's newest tokens but the read model has it for this grant. */
      earlier?: EarlierRefresh;
      now: Date;
    }
  | {
      type: 'IssueClientCredentials';
      grantId: string;
      clientId: string;
      userId: string;
      scopes: string[];
      resource: string;
      tokens: NewTokens;
      now: Date;
    }
  | {
      type: 'RevokeAccessToken';
      accessTokenId: string;
      /**
       * The caller verified the token (our signature, unexpired, its jti naming this grant): it need not be
       * among the newest ones state keeps. Unset for a bare jti (admin, CLI), which must be in state.
       */
      verified?: boolean;
      now: Date;
    }
  | { type: 'RevokeGrant'; reason: 'revoked' | 'user_disabled' | 'password_changed'; now: Date };
