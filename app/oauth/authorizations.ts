// The front channel: validating an authorization request (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1), then the
// user's answer (consent given or denied) becoming an authorization code or an error redirect.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { matchesRegisteredRedirect, type Client } from '../../domain/clients/index.ts';
import { grantDecider, grantStream, type GrantCommand, type GrantState } from '../../domain/grants/index.ts';
import { DEFAULT_SCOPES, SUPPORTED_SCOPES } from '../../domain/scopes.ts';
import { DomainError, type Actor } from '../../domain/shared.ts';
import type { CoreServices } from '../services.ts';
import { handleCommand, loadAggregate } from '../handle.ts';
import type { Clients } from './clients.ts';
import { grantToken } from './tokens.ts';

/** How long the login + consent pages may take. */
const INTERACTION_TTL_MS = 10 * 60_000;

/** Errors shown on a page: the redirect URI is not (yet) trusted, so nothing is redirected (RFC 6749 §4.1.2.1). */
export class AuthorizePageError extends DomainError {}

/** Errors returned to the client at its (validated) redirect URI. */
export class AuthorizeRedirectError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly redirectUri: string,
    readonly state: string | undefined,
  ) {
    super(code, message);
  }
}

export const mcpResource = (publicUrl: string): string => `${publicUrl}/mcp`;

/** RFC 8707 resource → the canonical MCP resource, or undefined when it names something else (a trailing slash is the same resource). */
export const canonicalResource = (publicUrl: string, value: string): string | undefined => {
  const expected = mcpResource(publicUrl);
  return value === expected || value === `${expected}/` ? expected : undefined;
};

export type PendingRequest = Extract<GrantState, { status: 'requested' }>;

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
});

export class Authorizations {
  constructor(
    private readonly core: CoreServices,
    private readonly clients: Clients,
  ) {}

  private run(grantId: string, command: GrantCommand, actor: Actor) {
    return handleCommand(this.core.log, grantStream(grantId), grantDecider, command, { actor });
  }

  /** Validates the query of /oauth/authorize and records the request (AuthorizationRequested). */
  async begin(
    query: Record<string, unknown>,
    now = new Date(),
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<{ grantId: string; client: Client }> {
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
    // From here on errors go back to the client (RFC 6749 §4.1.2.1).
    const fail = (code: string, message: string) => new AuthorizeRedirectError(code, message, redirectUri, p.state);
    if (p.request || p.request_uri)
      throw fail(
        p.request ? 'request_not_supported' : 'request_uri_not_supported',
        'request objects are not supported',
      );
    if (p.response_type !== 'code') throw fail('unsupported_response_type', 'only response_type=code is supported');
    if (!client.grantTypes.includes('authorization_code'))
      throw fail('unauthorized_client', 'this client may not use the authorization code grant');
    // OAuth 2.1 §4.1.1 / RFC 9700 §2.1.1: PKCE is required, and only S256.
    if (!p.code_challenge) throw fail('invalid_request', 'code_challenge is required (PKCE)');
    if ((p.code_challenge_method ?? 'plain') !== 'S256')
      throw fail('invalid_request', 'code_challenge_method must be S256');
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
      resources[0] === undefined
        ? mcpResource(this.core.config.publicUrl)
        : canonicalResource(this.core.config.publicUrl, resources[0]);
    if (!resource) throw fail('invalid_target', 'unknown resource');
    const grantId = randomUUID();
    await this.run(
      grantId,
      {
        type: 'RequestAuthorization',
        grantId,
        clientId: client.clientId,
        redirectUri,
        scopes,
        resource,
        codeChallenge: p.code_challenge,
        ...(p.state !== undefined ? { state: p.state } : {}),
        ...(p.nonce !== undefined ? { nonce: p.nonce } : {}),
        expiresAt: new Date(now.getTime() + INTERACTION_TTL_MS),
        now,
      },
      { type: 'client', id: client.clientId },
    );
    return { grantId, client };
  }

  /** The pending request behind the login and consent pages; expired or answered ones are refused. */
  async pending(grantId: string, now = new Date()): Promise<PendingRequest> {
    if (!/^[0-9a-f-]{36}$/.test(grantId))
      throw new DomainError('request_expired', 'unknown sign-in request; start again from the application');
    const { state } = await loadAggregate(this.core.log, grantStream(grantId), grantDecider);
    if (state.status !== 'requested' || state.expiresAt <= now.toISOString())
      throw new DomainError(
        'request_expired',
        'this sign-in request has expired or was already answered; start again from the application',
      );
    return state;
  }

  async loginFailed(grantId: string, email: string, now = new Date()): Promise<void> {
    await this.run(
      grantId,
      { type: 'RecordLoginFailure', email: email.slice(0, 320), now },
      { type: 'system', id: 'oauth-login' },
    );
  }

  /** Remembered consent: the user already approved every one of these scopes for this client. */
  async hasConsent(userId: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    const row = (
      await this.core.db.query<{ scopes: string[] }>(
        'SELECT scopes FROM oauth_consents WHERE user_id = $1 AND client_id = $2',
        [userId, clientId],
      )
    ).rows[0];
    return !!row && scopes.every((scope) => row.scopes.includes(scope));
  }

  /** ConsentGiven + AuthorizationCodeIssued in one append; returns where to send the browser. */
  async approve(
    grantId: string,
    userId: string,
    authTime: Date,
    remembered: boolean,
    now = new Date(),
  ): Promise<string> {
    const code = grantToken(grantId);
    const result = await this.run(
      grantId,
      {
        type: 'Approve',
        userId,
        authTime,
        codeHash: code.hash,
        codeExpiresAt: new Date(now.getTime() + this.core.config.authCodeTtlMs),
        remembered,
        now,
      },
      { type: 'user', id: userId },
    );
    await this.core.projections.waitFor(result.appended?.position, { names: ['oauth_grants'] });
    const state = result.state;
    if (state.status !== 'code_issued') throw new Error(`unexpected grant state ${state.status}`);
    return this.redirect(state.redirectUri, { code: code.token, state: state.state });
  }

  async deny(grantId: string, userId: string, now = new Date()): Promise<string> {
    const result = await this.run(grantId, { type: 'Deny', userId, now }, { type: 'user', id: userId });
    const state = result.state;
    if (state.status !== 'denied') throw new Error(`unexpected grant state ${state.status}`);
    return this.redirect(state.redirectUri, {
      error: 'access_denied',
      error_description: 'the user denied the request',
      state: state.state,
    });
  }

  /** RFC 9207 §2: every authorization response carries `iss`. */
  redirect(redirectUri: string, params: Record<string, string | undefined>): string {
    const url = new URL(redirectUri);
    for (const [key, value] of Object.entries({ ...params, iss: this.core.config.publicUrl }))
      if (value !== undefined) url.searchParams.set(key, value);
    return url.toString();
  }
}
