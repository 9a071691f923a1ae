// The back channel: /oauth/token grants, revocation (RFC 7009) and introspection (RFC 7662).
import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Client } from '../../domain/clients/index.ts';
import {
  grantDecider,
  grantStream,
  type GrantCommand,
  type GrantEvent,
  type GrantState,
  type NewTokens,
} from '../../domain/grants/index.ts';
import { DEFAULT_SCOPES, MCP_SCOPES } from '../../domain/scopes.ts';
import { DomainError, type Actor } from '../../domain/shared.ts';
import type { CoreServices } from '../core.ts';
import type { VersionedCommit } from '../../eventstore/versioned-commit.ts';
import { handleCommand, loadAggregate, type StateCache } from '../handle.ts';
import { canonicalResource, mcpResource, resourceNames } from './authorizations.ts';
import type { KeyRing } from './keys.ts';
import { ServiceUsers } from './service-users.ts';
import {
  grantIdOf,
  grantIdOfTokenId,
  grantToken,
  newAccessTokenId,
  sha256,
  signAccessToken,
  signIdToken,
} from './tokens.ts';
import type { AccessTokenInfo, TokenVerifier } from '../auth-port.ts';
import type { UserStanding } from '../users.ts';
import { earlierRefreshToken } from '../../projections/oauth/refresh-tokens.ts';
import { accessTokenOfGrant } from '../../projections/oauth/grants.queries.ts';
import { grantsProjection } from '../../projections/oauth/grants.ts';

/**
 * Refresh-token rotation policy: every refresh returns a new refresh token. The one it replaced keeps
 * working for REFRESH_GRACE_MS (two parallel refreshes must not log the user out); presented after
 * that, it is treated as stolen and the whole grant is revoked (RFC 9700 §4.14.2).
 */
export const REFRESH_GRACE_MS = 30_000;

export type TokenResponse = {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
};

/** A user standing asked ahead of need (prefetchStanding). */
type Prefetched = { userId: string; standing: Promise<UserStanding | undefined> };

const invalidGrant = (message: string) => new DomainError('invalid_grant', message);

export class TokenService {
  constructor(
    private readonly core: CoreServices,
    private readonly keys: KeyRing,
    /** Grant states this instance wrote last: a refresh or code exchange appends without reading first. */
    private readonly grantStates?: StateCache<GrantState>,
    /** Commands on existing grants share commits (eventstore/versioned-commit.ts). */
    private readonly grantCommits?: VersionedCommit,
  ) {
    this.serviceUsers = new ServiceUsers(core);
  }

  private readonly serviceUsers: ServiceUsers;

  private run(grantId: string, command: GrantCommand, actor: Actor, newStream = false) {
    // A client_credentials grant (the only new stream here) has no refresh token, so nothing comes back to
    // it but a rare revocation: kept, a busy machine client's grants would push out the states that save
    // the next refresh or code exchange its read.
    const cache = this.grantStates && !newStream ? { cache: this.grantStates } : {};
    // A new grant (client_credentials) shares its commit with concurrent ones: one WAL flush for many.
    // The others (a code exchange, a refresh) share theirs too, each with the version it expects.
    const group = newStream
      ? { groupCommit: this.core.groupCommit }
      : this.grantCommits
        ? { versionedCommit: this.grantCommits }
        : {};
    // Parallel refreshes of one grant are expected (several tabs, retries): retry conflicts generously.
    return handleCommand(
      this.core.log,
      grantStream(grantId),
      grantDecider,
      command,
      { actor, newStream, ...cache, ...group },
      10,
    );
  }

  private resource(issuer: string, value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const resource = canonicalResource(this.core.config, issuer, value);
    if (!resource) throw new DomainError('invalid_target', 'unknown resource');
    return resource;
  }

  private newTokens(
    grantId: string,
    client: Client,
    now: Date,
    withRefresh: boolean,
  ): { tokens: NewTokens; refreshToken: string | undefined } {
    const refresh = withRefresh ? grantToken(grantId) : undefined;
    return {
      refreshToken: refresh?.token,
      tokens: {
        accessTokenId: newAccessTokenId(grantId),
        accessExpiresAt: new Date(now.getTime() + this.core.config.accessTokenTtlMs).toISOString(),
        ...(refresh
          ? {
              refreshHash: refresh.hash,
              refreshExpiresAt: new Date(now.getTime() + this.core.config.refreshTokenTtlMs).toISOString(),
            }
          : {}),
      },
    };
  }

  /**
   * The grant's user must still be active, and the sign-in behind the grant (`authTime`) must come after
   * the user's last password change or disable: those end every grant, including a code not yet redeemed.
   */
  private async activeUser(userId: string, authTime?: string, prefetched?: Prefetched) {
    const user = await (prefetched?.userId === userId ? prefetched.standing : this.core.users.standing(userId));
    if (!user || user.status !== 'active') throw invalidGrant('the user is disabled');
    const validAfter = user.sessionsValidAfter;
    if (authTime !== undefined && validAfter && Date.parse(authTime) < validAfter.getTime())
      throw invalidGrant("the grant ended when the user's password changed or the user was disabled");
    return user;
  }

  /**
   * When this instance holds the grant's state, its user's standing is asked while the command's append is
   * in flight instead of after it: one round trip less on the way to the answer. (Checked against the
   * user the command's events name; a mismatch asks again.)
   */
  private prefetchStanding(grantId: string): Prefetched | undefined {
    const state = this.grantStates?.get(grantStream(grantId))?.state;
    const userId = state && 'userId' in state ? state.userId : undefined;
    if (userId === undefined) return undefined;
    const standing = this.core.users.standing(userId);
    // Awaited only when the command succeeds; a failure meanwhile must not become an unhandled rejection.
    standing.catch(() => undefined);
    return { userId, standing };
  }

  private async respond(
    event: GrantEvent,
    client: Client,
    refreshToken: string | undefined,
    now: Date,
    issuer: string,
    idToken?: { nonce: string | undefined; authTime: string | undefined; user: UserStanding },
  ): Promise<TokenResponse> {
    if (
      event.type !== 'AuthorizationCodeRedeemed' &&
      event.type !== 'RefreshTokenRotated' &&
      event.type !== 'ClientCredentialsIssued'
    )
      throw new Error(`unexpected ${event.type}`);
    const tokens = event.data.tokens;
    const subject = event.data.userId;
    if (subject === undefined) throw new Error('a token without a user');
    const expiresAt = new Date(tokens.accessExpiresAt);
    const accessToken = await signAccessToken(this.keys, {
      issuer,
      audience: event.data.resource,
      subject,
      clientId: client.clientId,
      scopes: tokens.scopes,
      jti: tokens.accessTokenId,
      issuedAt: now,
      expiresAt,
    });
    const response: TokenResponse = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: Math.round((expiresAt.getTime() - now.getTime()) / 1_000),
      scope: tokens.scopes.join(' '),
    };
    if (refreshToken) response.refresh_token = refreshToken;
    if (idToken && tokens.scopes.includes('openid')) {
      const { user } = idToken;
      response.id_token = await signIdToken(this.keys, {
        issuer,
        subject,
        clientId: client.clientId,
        issuedAt: now,
        expiresAt,
        authTime: idToken.authTime ? new Date(idToken.authTime) : undefined,
        nonce: idToken.nonce,
        extra: userClaims(
          { ...user, emailVerified: tokens.scopes.includes('email') && user.emailVerified },
          tokens.scopes,
        ),
      });
    }
    return response;
  }

  /** grant_type=authorization_code (OAuth 2.1 §4.1.3). */
  async exchangeCode(
    client: Client,
    input: {
      code: string;
      redirectUri: string | undefined;
      codeVerifier: string | undefined;
      resource: string | undefined;
      /** The base URL the request came to (app/public-url.ts); PUBLIC_URL when absent. */
      issuer?: string;
    },
    now = new Date(),
  ): Promise<TokenResponse> {
    const issuer = input.issuer ?? this.core.config.publicUrl;
    const grantId = grantIdOf(input.code);
    if (!grantId) throw invalidGrant('the authorization code is invalid');
    if (input.codeVerifier !== undefined && !/^[A-Za-z0-9._~-]{43,128}$/.test(input.codeVerifier))
      throw new DomainError('invalid_request', 'code_verifier is malformed (RFC 7636 §4.1)');
    const { tokens, refreshToken } = this.newTokens(grantId, client, now, client.grantTypes.includes('refresh_token'));
    const prefetched = this.prefetchStanding(grantId);
    const result = await this.run(
      grantId,
      {
        type: 'RedeemCode',
        codeHash: sha256(input.code),
        clientId: client.clientId,
        redirectUri: input.redirectUri,
        verifierChallenge: input.codeVerifier === undefined ? undefined : sha256(input.codeVerifier),
        resource: this.resource(issuer, input.resource),
        resourceNames: resourceNames(this.core.config, issuer),
        tokens,
        now,
      },
      { type: 'client', id: client.clientId },
    );
    const redeemed = result.events.find((event) => event.type === 'AuthorizationCodeRedeemed');
    if (!redeemed) {
      // RFC 9700 §4.5: the code was used before; what it produced is now revoked.
      await this.core.projections.waitFor(result.appended?.position, { projections: [grantsProjection] });
      throw invalidGrant('the authorization code was already used');
    }
    const state = result.state.status === 'active' ? result.state : undefined;
    const user = await this.activeUser(redeemed.data.userId, state?.authTime, prefetched);
    return this.respond(redeemed, client, refreshToken, now, issuer, {
      nonce: state?.nonce,
      authTime: state?.authTime,
      user,
    });
  }

  /** grant_type=refresh_token with rotation (OAuth 2.1 §4.3, RFC 9700 §4.14.2). */
  async refresh(
    client: Client,
    input: { refreshToken: string; scope: string | undefined; resource: string | undefined; issuer?: string },
    now = new Date(),
  ): Promise<TokenResponse> {
    const issuer = input.issuer ?? this.core.config.publicUrl;
    const grantId = grantIdOf(input.refreshToken);
    if (!grantId || !client.grantTypes.includes('refresh_token')) throw invalidGrant('the refresh token is invalid');
    const { tokens, refreshToken } = this.newTokens(grantId, client, now, true);
    const scopes = input.scope === undefined ? undefined : input.scope.split(' ').filter(Boolean);
    const refreshHash = sha256(input.refreshToken);
    const command: GrantCommand = {
      type: 'Refresh',
      refreshHash,
      clientId: client.clientId,
      scopes,
      resource: this.resource(issuer, input.resource),
      resourceNames: resourceNames(this.core.config, issuer),
      tokens,
      graceMs: REFRESH_GRACE_MS,
      now,
    };
    const actor: Actor = { type: 'client', id: client.clientId };
    const prefetched = this.prefetchStanding(grantId);
    let result;
    try {
      result = await this.run(grantId, command, actor);
    } catch (error) {
      // The grant's state keeps only its newest refresh tokens: an older one (RFC 9700 §4.14.2 reuse) is
      // looked up in the read model, on this failure path only, and decided again with what it knows.
      if (!(error instanceof DomainError) || error.code !== 'invalid_grant') throw error;
      const earlier = await earlierRefreshToken(this.core.db, grantId, refreshHash, now);
      if (!earlier) throw error;
      result = await this.run(grantId, { ...command, earlier }, actor);
    }
    const rotated = result.events.find((event) => event.type === 'RefreshTokenRotated');
    if (!rotated) {
      await this.core.projections.waitFor(result.appended?.position, { projections: [grantsProjection] });
      throw invalidGrant('the refresh token was already used; the grant has been revoked');
    }
    await this.activeUser(
      rotated.data.userId,
      result.state.status === 'active' ? result.state.authTime : undefined,
      prefetched,
    );
    return this.respond(rotated, client, refreshToken, now, issuer);
  }

  /**
   * grant_type=client_credentials (OAuth 2.1 §4.2): machine clients an admin bound to a service user only.
   * The token speaks for that user (`sub`), with at most the scopes the admin gave the client.
   */
  async clientCredentials(
    client: Client,
    input: { scope: string | undefined; resource: string | undefined; issuer?: string },
    now = new Date(),
  ): Promise<TokenResponse> {
    const issuer = input.issuer ?? this.core.config.publicUrl;
    // RFC 6749 §5.2 unauthorized_client: the client authenticated but may not use this grant. That covers
    // clients registered before machine clients were bound to a user: no user, no token.
    const serviceUserId = client.serviceUserId;
    if (
      client.tokenEndpointAuthMethod === 'none' ||
      !client.grantTypes.includes('client_credentials') ||
      serviceUserId === undefined
    ) {
      throw new DomainError('unauthorized_client', 'this client may not use the client_credentials grant');
    }
    if (!(await this.serviceUsers.mayUseClientCredentials(serviceUserId)))
      throw new DomainError('unauthorized_client', "this client's service user is disabled or gone");
    const allowed = client.scope === undefined ? DEFAULT_SCOPES : client.scope.split(' ');
    const scopes = input.scope === undefined ? allowed : input.scope.split(' ').filter(Boolean);
    // Only MCP scopes (no OIDC identity for a machine), and only those the admin chose for the client.
    if (scopes.some((scope) => !(MCP_SCOPES as readonly string[]).includes(scope) || !allowed.includes(scope)))
      throw new DomainError('invalid_scope', `this client may ask for: ${allowed.join(' ')}`);
    const grantId = randomUUID();
    const { tokens } = this.newTokens(grantId, client, now, false);
    const resource = this.resource(issuer, input.resource) ?? mcpResource(issuer);
    const result = await this.run(
      grantId,
      {
        type: 'IssueClientCredentials',
        grantId,
        clientId: client.clientId,
        userId: serviceUserId,
        scopes,
        resource,
        tokens,
        now,
      },
      { type: 'client', id: client.clientId },
      // A grant id made just now: no stream to read.
      true,
    );
    return this.respond(result.events[0]!, client, undefined, now, issuer);
  }

  /**
   * RFC 7009: revokes an access token (its jti) or a refresh token (its whole grant, §2.1). Tokens of
   * other clients, forged and unknown tokens are ignored: the answer is 200 either way (§2.2).
   */
  async revoke(
    client: Client,
    token: string,
    verifier: TokenVerifier,
    actor: Actor = { type: 'client', id: client.clientId },
    now = new Date(),
  ): Promise<void> {
    const refreshGrant = grantIdOf(token);
    if (refreshGrant) {
      const { state } = await loadAggregate(this.core.log, grantStream(refreshGrant), grantDecider);
      if ((state.status !== 'active' && state.status !== 'revoked') || state.clientId !== client.clientId) return;
      const hash = sha256(token);
      // State keeps the newest refresh tokens only; an earlier one of the grant is in the read model.
      if (
        state.refresh.some((entry) => entry.hash === hash) ||
        (await earlierRefreshToken(this.core.db, refreshGrant, hash, now))
      ) {
        await this.revokeGrant(refreshGrant, actor, now);
      }
      return;
    }
    // RFC 7009 §2.1: the server verifies the token (our signature and issuer, never claims read from an
    // unverified JWT) and that it was issued to the client making the request.
    const info = await this.verifiedAccessToken(token, verifier);
    if (!info || info.clientId !== client.clientId) return;
    await this.revokeAccessToken(info.tokenId, actor, now, true);
  }

  /** An access token we issued that still stands (signature, issuer, type, expiry, revocation), or undefined. */
  private async verifiedAccessToken(token: string, verifier: TokenVerifier): Promise<AccessTokenInfo | undefined> {
    let claims: { aud?: unknown };
    try {
      claims = decodeJwt(token);
    } catch {
      return undefined;
    }
    // The audience only picks what to check the token against; the signature makes it ours.
    const audience =
      typeof claims.aud === 'string'
        ? claims.aud
        : Array.isArray(claims.aud) && typeof claims.aud[0] === 'string'
          ? claims.aud[0]
          : undefined;
    if (!audience) return undefined;
    try {
      return await verifier.verify(token, audience);
    } catch {
      return undefined;
    }
  }

  /** Admin/CLI: revokes whatever `token` is — a refresh token (its grant), an access token, or a jti. */
  async revokeAny(token: string, actor: Actor, now = new Date()): Promise<boolean> {
    const refreshGrant = grantIdOf(token);
    if (refreshGrant) return this.revokeGrant(refreshGrant, actor, now);
    if (grantIdOfTokenId(token)) return this.revokeAccessToken(token, actor, now);
    try {
      const { jti } = decodeJwt(token);
      return typeof jti === 'string' ? this.revokeAccessToken(jti, actor, now) : false;
    } catch {
      return false;
    }
  }

  async revokeAccessToken(jti: string, actor: Actor, now = new Date(), verified = false): Promise<boolean> {
    const grantId = grantIdOfTokenId(jti);
    if (!grantId) return false;
    // A bare jti (admin, CLI) older than the ones the grant's state keeps: the read model vouches for it.
    if (!verified) {
      verified = await accessTokenOfGrant(this.core.db, jti, grantId, now);
    }
    const result = await this.run(grantId, { type: 'RevokeAccessToken', accessTokenId: jti, verified, now }, actor);
    // Read your writes: once this returns, the verifier on this instance refuses the token.
    await this.core.projections.waitFor(result.appended?.position, { projections: [grantsProjection] });
    return result.events.length > 0;
  }

  async revokeGrant(grantId: string, actor: Actor, now = new Date()): Promise<boolean> {
    // Grant ids are UUIDs; anything else (an admin form, a CLI argument) names no grant.
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(grantId)) return false;
    const result = await this.run(grantId, { type: 'RevokeGrant', reason: 'revoked', now }, actor);
    await this.core.projections.waitFor(result.appended?.position, { projections: [grantsProjection] });
    return result.events.length > 0;
  }

  /**
   * RFC 7662 §2.2: active tokens get their claims; anything else only `{active: false}`. §4: a token's
   * claims are told only to the client it was issued to, or to a client an admin marked as a resource
   * server; any other caller learns nothing, not even that the token is valid.
   */
  async introspect(
    client: Client,
    token: string,
    verifier: TokenVerifier,
    now = new Date(),
  ): Promise<Record<string, unknown>> {
    if (grantIdOf(token)) return this.introspectRefresh(client, token, now);
    const info = await this.verifiedAccessToken(token, verifier);
    if (!info || (info.clientId !== client.clientId && client.resourceServer !== true)) return { active: false };
    return {
      active: true,
      scope: info.scopes.join(' '),
      client_id: info.clientId,
      sub: info.subject,
      aud: info.audience.length === 1 ? info.audience[0] : info.audience,
      iss: info.issuer ?? this.core.config.publicUrl,
      jti: info.tokenId,
      exp: Math.floor(info.expiresAt.getTime() / 1_000),
      token_type: 'Bearer',
    };
  }

  /**
   * RFC 7662 §2.2 for a refresh token: active while it is the grant's current one (not superseded, not
   * expired), the grant stands and its user may still use it; the same own-client rule as access tokens.
   */
  private async introspectRefresh(client: Client, token: string, now: Date): Promise<Record<string, unknown>> {
    const { state } = await loadAggregate(this.core.log, grantStream(grantIdOf(token)!), grantDecider);
    if (state.status !== 'active' || state.userId === undefined) return { active: false };
    if (state.clientId !== client.clientId && client.resourceServer !== true) return { active: false };
    const hash = sha256(token);
    const current = state.refresh.find((entry) => entry.hash === hash && entry.supersededAt === undefined);
    if (!current || Date.parse(current.expiresAt) <= now.getTime()) return { active: false };
    try {
      await this.activeUser(state.userId, state.authTime);
    } catch {
      return { active: false };
    }
    return {
      active: true,
      scope: state.scopes.join(' '),
      client_id: state.clientId,
      sub: state.userId,
      aud: state.resource,
      exp: Math.floor(Date.parse(current.expiresAt) / 1_000),
      // RFC 7662 §2.2 leaves token_type open; this names what the token is, as RFC 7009 §2.1's hint does.
      token_type: 'refresh_token',
    };
  }
}

/**
 * OIDC Core §5.4: claims released per scope. §5.1 `email_verified` is a promise about the address, so
 * it is sent only once an admin verified it; otherwise it is left out (nothing is claimed either way).
 */
export const userClaims = (
  user: { email: string; name: string; emailVerified: boolean },
  scopes: readonly string[],
): Record<string, unknown> => ({
  ...(scopes.includes('email') ? { email: user.email, ...(user.emailVerified ? { email_verified: true } : {}) } : {}),
  ...(scopes.includes('profile') ? { name: user.name } : {}),
});
