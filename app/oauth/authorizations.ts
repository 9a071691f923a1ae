// The front channel: validating an authorization request (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1), then the
// user's answer (consent given or denied) becoming an authorization code or an error redirect. Until that
// answer the request lives in the browser (pending-requests.ts), so anonymous traffic writes no events.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { matchesRegisteredRedirect, type Client } from '../../domain/clients/index.ts';
import { grantDecider, grantStream, type GrantCommand, type GrantState } from '../../domain/grants/index.ts';
import { DEFAULT_SCOPES, SUPPORTED_SCOPES } from '../../domain/scopes.ts';
import { DomainError, type Actor } from '../../domain/shared.ts';
import type { CoreServices } from '../core.ts';
import { handleCommand, type StateCache } from '../handle.ts';
import type { Clients } from './clients.ts';
import { INTERACTION_TTL_MS, MAX_SEALED_LENGTH, PendingRequestSeal, type PendingRequest } from './pending-requests.ts';
import { grantToken } from './tokens.ts';
import { sameServer } from '../public-url.ts';
import type { Config } from '../config.ts';
import { consentedScopes } from '../../projections/oauth/grants.queries.ts';
import { grantsProjection } from '../../projections/oauth/grants.ts';

export type { PendingRequest } from './pending-requests.ts';

/** Errors shown on a page: the redirect URI is not (yet) trusted, so nothing is redirected (RFC 6749 §4.1.2.1). */
export class AuthorizePageError extends DomainError {}

/**
 * Errors returned to the client at its (validated) redirect URI. `automatic` says whether the browser may
 * be sent there at once; otherwise a page shows the error with a link (RFC 9700 §4.11.2).
 */
export class AuthorizeRedirectError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
    readonly automatic: boolean,
  ) {
    super(code, message);
  }
}

/**
 * RFC 9700 §4.11.2: redirect automatically only to a redirect URI the server trusts. An admin vetted the
 * clients it registered; anyone can register (or publish a metadata document for) any other.
 */
export const trustsRedirectUris = (client: Client): boolean => client.source === 'admin';

export const mcpResource = (publicUrl: string): string => `${publicUrl}/mcp`;

/**
 * RFC 8707 resource → the canonical MCP resource, or undefined when it names something else. A trailing
 * slash is the same resource, and so is /mcp under each name of this server (`issuer`'s loopback siblings
 * when PUBLIC_URL is unset): the name the client used is kept, as it becomes the token's `aud`.
 */
export const canonicalResource = (config: Config, issuer: string, value: string): string | undefined =>
  sameServer(config, issuer)
    .map(mcpResource)
    .find((expected) => value === expected || value === `${expected}/`);

/** Every name of the MCP resource of `issuer`'s server (RFC 8707 §2 compares the resource, not its spelling). */
export const resourceNames = (config: Config, issuer: string): string[] => sameServer(config, issuer).map(mcpResource);

const Params = z.object({
  response_type: z.string().optional(),
  client_id: z.string().optional(),
  redirect_uri: z.string().optional(),
  scope: z.string().optional(),
  state: z.string().max(2_000).optional(),
  code_challenge: z.string().optional(),
  code_challenge_method: z.string().optional(),
  resource: z.union([z.string(), z.array(z.string())]).optional(),
  nonce: z.string().max(500).optional(),
  request: z.string().optional(),
  request_uri: z.string().optional(),
  prompt: z.string().max(100).optional(),
});

export class Authorizations {
  private sealerOnce: PendingRequestSeal | undefined;

  constructor(
    private readonly core: CoreServices,
    private readonly clients: Clients,
    private readonly grantStates?: StateCache<GrantState>,
  ) {}

  /** Made on first use: commands that run without the server secret (events import) never need it. */
  private get sealer(): PendingRequestSeal {
    this.sealerOnce ??= new PendingRequestSeal(this.core.secret);
    return this.sealerOnce;
  }

  private run(grantId: string, command: GrantCommand, actor: Actor) {
    return handleCommand(this.core.log, grantStream(grantId), grantDecider, command, {
      actor,
      ...(this.grantStates ? { cache: this.grantStates } : {}),
    });
  }

  /**
   * Validates the query of /oauth/authorize. Writes nothing: the request waits in the browser's cookie and
   * is recorded with the user's answer (approve / deny). `signal`: the HTTP request, so a metadata
   * document fetch for it stops when the browser goes away.
   */
  async begin(
    query: Record<string, unknown>,
    now = new Date(),
    issuer = this.core.config.publicUrl,
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<{ request: PendingRequest; client: Client }> {
    const params = Params.safeParse(query);
    if (!params.success) throw new AuthorizePageError('invalid_request', 'the authorization request is malformed');
    const p = params.data;
    if (!p.client_id) throw new AuthorizePageError('invalid_request', 'client_id is missing');
    let client: Client | undefined;
    try {
      client = await this.clients.find(p.client_id, options);
    } catch (error) {
      if (error instanceof DomainError) throw new AuthorizePageError('invalid_client', error.message);
      throw error;
    }
    if (!client) throw new AuthorizePageError('invalid_client', 'unknown client_id');
    // OAuth 2.1 §4.1.1: redirect_uri may be omitted only when exactly one is registered.
    const redirectUri = p.redirect_uri ?? (client.redirectUris.length === 1 ? client.redirectUris[0] : undefined);
    if (!redirectUri) throw new AuthorizePageError('invalid_request', 'redirect_uri is missing');
    if (!matchesRegisteredRedirect(redirectUri, client.redirectUris))
      throw new AuthorizePageError('invalid_request', 'redirect_uri is not registered for this client');
    // From here on errors go back to the client (RFC 6749 §4.1.2.1), automatically only to a vetted one.
    const trusted = trustsRedirectUris(client);
    const fail = (code: string, message: string, automatic = trusted) =>
      new AuthorizeRedirectError(code, message, redirectUri, p.state, automatic);
    if (p.request || p.request_uri)
      throw fail(
        p.request ? 'request_not_supported' : 'request_uri_not_supported',
        'request objects are not supported',
      );
    if (p.response_type !== 'code') throw fail('unsupported_response_type', 'only response_type=code is supported');
    if (!client.grantTypes.includes('authorization_code'))
      throw fail('unauthorized_client', 'this client may not use the authorization code grant');
    // OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: PKCE is required, and only S256. These two go back to every
    // client: a client must learn that it has to send PKCE.
    if (!p.code_challenge) throw fail('invalid_request', 'code_challenge is required (PKCE)', true);
    if ((p.code_challenge_method ?? 'plain') !== 'S256')
      throw fail('invalid_request', 'code_challenge_method must be S256', true);
    if (!/^[A-Za-z0-9_-]{43}$/.test(p.code_challenge))
      throw fail('invalid_request', 'code_challenge must be a base64url SHA-256 hash');
    const requested = (p.scope ?? '').split(' ').filter(Boolean);
    const unknown = requested.filter((scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope));
    if (unknown.length > 0) throw fail('invalid_scope', `unknown scope: ${unknown.join(' ')}`);
    const scopes = [...new Set(requested.length > 0 ? requested : DEFAULT_SCOPES)];
    // RFC 8707 §2: one resource, and it must be ours.
    const resources = p.resource === undefined ? [] : Array.isArray(p.resource) ? p.resource : [p.resource];
    if (resources.length > 1) throw fail('invalid_target', 'only one resource may be requested');
    const resource =
      resources[0] === undefined ? mcpResource(issuer) : canonicalResource(this.core.config, issuer, resources[0]);
    if (!resource) throw fail('invalid_target', 'unknown resource');
    // OIDC Core §3.1.2.1: `none` with any other value is an error.
    const prompts = new Set((p.prompt ?? '').split(' ').filter(Boolean));
    if (prompts.has('none') && prompts.size > 1)
      throw fail('invalid_request', 'prompt=none cannot be combined with other values');
    const request: PendingRequest = {
      grantId: randomUUID(),
      clientId: client.clientId,
      redirectUri,
      scopes,
      resource,
      codeChallenge: p.code_challenge,
      ...(p.state !== undefined ? { state: p.state } : {}),
      ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
      requestedAt: now,
      expiresAt: new Date(now.getTime() + INTERACTION_TTL_MS),
      forceConsent: prompts.has('consent'),
    };
    return { request, client };
  }

  /** The sealed cookie value for `request`; a request too large for a cookie is refused like any other error. */
  async seal(request: PendingRequest, client: Client): Promise<string> {
    const sealed = await this.sealer.seal(request);
    if (sealed.length > MAX_SEALED_LENGTH)
      throw new AuthorizeRedirectError(
        'invalid_request',
        'the authorization request is too large (state, nonce or redirect_uri)',
        request.redirectUri,
        request.state,
        trustsRedirectUris(client),
      );
    return sealed;
  }

  /** The request sealed in a cookie value, or undefined when it is not intact, expired, or another one. */
  unseal(value: string, grantId: string, now = new Date()): Promise<PendingRequest | undefined> {
    return this.sealer.open(value, grantId, now);
  }

  /** Remembered consent: the user already approved every one of these scopes for this client. */
  async hasConsent(userId: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    const approved = await consentedScopes(this.core.db, userId, clientId);
    return !!approved && scopes.every((scope) => approved.includes(scope));
  }

  /** AuthorizationRequested + ConsentGiven + AuthorizationCodeIssued in one append; returns where to send the browser. */
  async approve(
    request: PendingRequest,
    userId: string,
    authTime: Date,
    remembered: boolean,
    now = new Date(),
    issuer = this.core.config.publicUrl,
  ): Promise<string> {
    const code = grantToken(request.grantId);
    const result = await this.run(
      request.grantId,
      {
        type: 'Approve',
        request,
        userId,
        authTime,
        codeHash: code.hash,
        codeExpiresAt: new Date(now.getTime() + this.core.config.authCodeTtlMs),
        remembered,
        now,
      },
      { type: 'user', id: userId },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [grantsProjection] });
    const state = result.state;
    if (state.status !== 'code_issued') throw new Error(`unexpected grant state ${state.status}`);
    return this.redirect(state.redirectUri, { code: code.token, state: state.state }, issuer);
  }

  /** AuthorizationRequested + ConsentDenied in one append; the error goes back to the client (RFC 6749 §4.1.2.1). */
  async deny(
    request: PendingRequest,
    userId: string,
    now = new Date(),
    issuer = this.core.config.publicUrl,
  ): Promise<string> {
    const result = await this.run(
      request.grantId,
      { type: 'Deny', request, userId, now },
      { type: 'user', id: userId },
    );
    const state = result.state;
    if (state.status !== 'denied') throw new Error(`unexpected grant state ${state.status}`);
    return this.redirect(
      state.redirectUri,
      {
        error: 'access_denied',
        error_description: 'the user denied the request',
        state: state.state,
      },
      issuer,
    );
  }

  /** RFC 9207 §2: every authorization response carries `iss`, the issuer the request was sent to. */
  redirect(
    redirectUri: string,
    params: Record<string, string | undefined>,
    issuer = this.core.config.publicUrl,
  ): string {
    const url = new URL(redirectUri);
    for (const [key, value] of Object.entries({ ...params, iss: issuer }))
      if (value !== undefined) url.searchParams.set(key, value);
    return url.toString();
  }
}
