// The OAuth 2.1 / OpenID Connect authorization server's application layer: clients, the
// authorization (front channel) and token (back channel) services, signing keys and the token check
// used by /mcp. The CLI and the admin panel call the methods below.
import type { CoreServices } from '../core.ts';
import type { TokenVerifier } from '../auth-port.ts';
import { DomainError, type Actor } from '../../domain/shared.ts';
import { DEFAULT_SCOPES, MCP_SCOPES } from '../../domain/scopes.ts';
import type { ClientMetadata } from '../../domain/clients/index.ts';
import { Authorizations } from './authorizations.ts';
import { Clients, type RegisteredClient } from './clients.ts';
import { KeyRing } from './keys.ts';
import { TokenService } from './token-service.ts';
import { StateCache } from '../handle.ts';
import type { GrantState } from '../../domain/grants/index.ts';
import { VersionedCommit } from '../../eventstore/versioned-commit.ts';
import { JwtTokenVerifier, REVOKING_EVENT } from './verifier.ts';
import {
  listAccessTokens,
  listGrants,
  type AccessTokenRow,
  type GrantRow,
} from '../../projections/oauth/grants.queries.ts';

export type { AccessTokenRow, GrantRow } from '../../projections/oauth/grants.queries.ts';

export type OAuth = {
  readonly verifier: TokenVerifier;
  readonly clients: Clients;
  readonly authorizations: Authorizations;
  readonly tokens: TokenService;
  readonly keys: KeyRing;
  /**
   * CLI/admin: a confidential client (registered as client_secret_basic; client_secret_post works too) —
   * the secret is in the result, once. With redirect URIs it signs people in (authorization_code +
   * refresh_token); without, it has no grant and only authenticates (introspection, revocation).
   */
  createConfidentialClient(
    input: {
      name: string;
      redirectUris?: string[];
      postLogoutRedirectUris?: string[];
      grantTypes?: ClientMetadata['grantTypes'];
    },
    actor: Actor,
  ): Promise<RegisteredClient>;
  /**
   * CLI/admin: a machine client (client_credentials) acting for the service user `userEmail`, created
   * with role service and no password when absent. Its tokens carry at most `scopes` (default: the MCP
   * scopes). Refused for a person's account.
   */
  createMachineClient(
    input: { name: string; userEmail: string; scopes?: string[] },
    actor: Actor,
  ): Promise<RegisteredClient & { serviceUser: { id: string; email: string; created: boolean } }>;
  listGrants(filter?: { userId?: string; clientId?: string }): Promise<GrantRow[]>;
  listTokens(filter?: { userId?: string; clientId?: string; activeOnly?: boolean }): Promise<AccessTokenRow[]>;
  revokeGrant(grantId: string, actor: Actor): Promise<boolean>;
  revokeAccessToken(jti: string, actor: Actor): Promise<boolean>;
  /** CLI `tokens revoke <token>`: a refresh token (revokes its grant), an access token JWT, or a jti. */
  revokeToken(token: string, actor: Actor): Promise<boolean>;
  /** Adds a new signing key; the previous one stays in the JWKS until its tokens expire. Returns the new kid. */
  rotateKeys(actor: Actor): Promise<string>;
  close(): Promise<void>;
};

export const createOAuth = async (core: CoreServices): Promise<OAuth> => {
  // Retired keys stay published while tokens they signed (access and id tokens) can still be valid.
  const keys = new KeyRing({ log: core.log, publishForMs: core.config.accessTokenTtlMs + 60_000 });
  const clients = new Clients(core);
  // One cache of grant states for both services: the token request that redeems a code finds the state
  // the approval left, and a refresh the state the previous rotation left.
  const grantStates = new StateCache<GrantState>();
  // Token requests on existing grants (code exchange, refresh) share their commits.
  const grantCommits = new VersionedCommit(core.log);
  const tokens = new TokenService(core, keys, grantStates, grantCommits);
  // Sweep idle public clients a few times a day (idempotent, so several instances may all do it).
  const sweep = setInterval(() => {
    clients.expireIdle().catch((error: unknown) => core.logger.warn({ err: error }, 'expiring idle clients failed'));
  }, 6 * 3_600_000);
  sweep.unref();
  const verifier = new JwtTokenVerifier(keys, core.db, core.config);
  core.appends.on('append', (_stream: string, events: readonly { type: string }[]) => {
    if (events.some((event) => REVOKING_EVENT.test(event.type))) verifier.invalidate();
  });
  return {
    verifier,
    clients,
    authorizations: new Authorizations(core, clients, grantStates),
    tokens,
    keys,
    createConfidentialClient: (input, actor) =>
      clients.register(
        {
          clientName: input.name,
          redirectUris: input.redirectUris ?? [],
          ...(input.postLogoutRedirectUris?.length ? { postLogoutRedirectUris: input.postLogoutRedirectUris } : {}),
          grantTypes: input.grantTypes ?? (input.redirectUris?.length ? ['authorization_code', 'refresh_token'] : []),
          tokenEndpointAuthMethod: 'client_secret_basic',
          applicationType: 'web',
        },
        'admin',
        actor,
      ),
    async createMachineClient(input, actor) {
      const scopes = [...new Set(input.scopes?.length ? input.scopes : DEFAULT_SCOPES)].sort();
      const unknown = scopes.filter((scope) => !(MCP_SCOPES as readonly string[]).includes(scope));
      if (unknown.length)
        throw new DomainError('invalid_scope', `a machine client carries MCP scopes only, not: ${unknown.join(' ')}`);
      const { user, created } = await core.users.ensureServiceUser({ email: input.userEmail }, actor);
      const registered = await clients.register(
        {
          clientName: input.name,
          redirectUris: [],
          grantTypes: ['client_credentials'],
          tokenEndpointAuthMethod: 'client_secret_basic',
          applicationType: 'web',
          scope: scopes.join(' '),
        },
        'admin',
        actor,
        new Date(),
        user.id,
      );
      return { ...registered, serviceUser: { id: user.id, email: user.email, created } };
    },
    listGrants: (filter = {}) => listGrants(core.db, filter),
    listTokens: (filter = {}) => listAccessTokens(core.db, filter),
    revokeGrant: (grantId, actor) => tokens.revokeGrant(grantId, actor),
    revokeAccessToken: (jti, actor) => tokens.revokeAccessToken(jti, actor),
    revokeToken: (token, actor) => tokens.revokeAny(token, actor),
    rotateKeys: (actor) => keys.rotate(actor),
    close: async () => {
      clearInterval(sweep);
      await grantCommits.flush();
    },
  };
};
