// RFC 7591 dynamic client registration (POST /oauth/register) and RFC 7592 management
// (GET/PUT/DELETE /oauth/register/:id with the registration access token).
import type Koa from 'koa';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import type { Client, ClientMetadata } from '../../domain/clients/index.ts';
import { SUPPORTED_SCOPES } from '../../domain/scopes.ts';
import { DomainError } from '../../domain/shared.ts';
import { findUnstorable } from '../../eventstore/storable.ts';
import { publicUrlOf } from '../public-url.ts';
import { HttpError } from '../errors.ts';

type Deps = Pick<HttpDeps, 'oauth'>;

const webUrl = z
  .string()
  .max(2_000)
  .refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL');

const Registration = z.object({
  redirect_uris: z.array(z.string().max(2_000)).max(20).default([]),
  client_name: z.string().trim().min(1).max(200).optional(),
  // RFC 7591 §2 defaults to client_secret_basic; MCP clients send `none`.
  token_endpoint_auth_method: z
    .enum(['none', 'client_secret_basic', 'client_secret_post'])
    .default('client_secret_basic'),
  // authorization_code + refresh_token by default, so MCP clients get refresh tokens.
  grant_types: z
    .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
    .min(1)
    .default(['authorization_code', 'refresh_token']),
  response_types: z.array(z.literal('code')).default(['code']),
  application_type: z.enum(['web', 'native']).default('web'),
  scope: z.string().max(1_000).optional(),
  client_uri: webUrl.optional(),
  logo_uri: webUrl.optional(),
  // OIDC RP-Initiated Logout 1.0 §3.1.
  post_logout_redirect_uris: z.array(z.string().max(2_000)).max(20).optional(),
});

const invalidMetadata = (message: string) => new HttpError(400, 'invalid_client_metadata', message);

export const parseRegistration = (body: unknown): ClientMetadata => {
  const parsed = Registration.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = String(issue?.path[0] ?? 'metadata');
    throw new HttpError(
      400,
      field === 'redirect_uris' ? 'invalid_redirect_uri' : 'invalid_client_metadata',
      `${issue?.path.join('.') ?? field}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const r = parsed.data;
  // Stored as given and shown to users, so refused rather than altered (PostgreSQL cannot store these).
  const unstorable = findUnstorable(r);
  if (unstorable !== undefined)
    throw new HttpError(
      400,
      unstorable.startsWith('$.redirect_uris') ? 'invalid_redirect_uri' : 'invalid_client_metadata',
      `${unstorable.slice(2)}: holds U+0000 or an unpaired surrogate`,
    );
  const scopes = (r.scope ?? '').split(' ').filter(Boolean);
  const unknown = scopes.filter((scope) => !(SUPPORTED_SCOPES as readonly string[]).includes(scope));
  if (unknown.length) throw invalidMetadata(`unknown scope: ${unknown.join(' ')}`);
  // No user stands behind a client_credentials token: open registration never gets it (RFC 7591 §3.2.2).
  if (r.grant_types.includes('client_credentials'))
    throw invalidMetadata(
      'client_credentials is not available to registered clients; an admin creates machine clients',
    );
  if (r.grant_types.includes('authorization_code') !== r.response_types.includes('code'))
    throw invalidMetadata('grant_types and response_types do not match (RFC 7591 §2.1)');
  return {
    clientName: r.client_name ?? 'Unnamed client',
    redirectUris: r.redirect_uris,
    grantTypes: [...new Set(r.grant_types)],
    tokenEndpointAuthMethod: r.token_endpoint_auth_method,
    applicationType: r.application_type,
    ...(scopes.length ? { scope: scopes.join(' ') } : {}),
    ...(r.client_uri ? { clientUri: r.client_uri } : {}),
    ...(r.logo_uri ? { logoUri: r.logo_uri } : {}),
    ...(r.post_logout_redirect_uris?.length ? { postLogoutRedirectUris: r.post_logout_redirect_uris } : {}),
  };
};

const describe = (client: Client, publicUrl: string) => ({
  client_id: client.clientId,
  client_id_issued_at: Math.floor(Date.parse(client.createdAt) / 1_000),
  client_name: client.clientName,
  redirect_uris: client.redirectUris,
  grant_types: client.grantTypes,
  response_types: client.grantTypes.includes('authorization_code') ? ['code'] : [],
  token_endpoint_auth_method: client.tokenEndpointAuthMethod,
  application_type: client.applicationType,
  ...(client.scope ? { scope: client.scope } : {}),
  ...(client.clientUri ? { client_uri: client.clientUri } : {}),
  ...(client.logoUri ? { logo_uri: client.logoUri } : {}),
  ...(client.postLogoutRedirectUris?.length ? { post_logout_redirect_uris: client.postLogoutRedirectUris } : {}),
  registration_client_uri: `${publicUrl}/oauth/register/${client.clientId}`,
});

/** Domain refusals of metadata become RFC 7591 §3.2.2 codes. */
const mapDomain = async <T>(work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    if (
      error instanceof DomainError &&
      (error.code === 'invalid_redirect_uri' || error.code === 'invalid_client_metadata')
    )
      throw new HttpError(400, error.code, error.message);
    throw error;
  }
};

export const registerClient =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const metadata = parseRegistration(ctx.request.body);
    const registered = await mapDomain(() =>
      services.oauth.clients.register(metadata, 'dynamic', { type: 'system', id: `registration:${ctx.ip}` }),
    );
    ctx.status = 201;
    ctx.body = {
      ...describe(registered.client, publicUrlOf(ctx)),
      ...(registered.clientSecret ? { client_secret: registered.clientSecret, client_secret_expires_at: 0 } : {}),
      registration_access_token: registered.registrationAccessToken,
    };
  };

/** RFC 7592 §2: the registration access token (Bearer) authorizes management of its client only. */
const managedClient = async (services: Deps, ctx: Koa.Context): Promise<Client> => {
  const token = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
  try {
    return await services.oauth.clients.forManagement(String(ctx.params.id), token);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'invalid_token')
      throw new HttpError(401, 'invalid_token', error.message, true, {
        'WWW-Authenticate': 'Bearer error="invalid_token"',
      });
    throw error;
  }
};

export const readRegistration =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    ctx.body = describe(await managedClient(services, ctx), publicUrlOf(ctx));
  };

export const updateRegistration =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const client = await managedClient(services, ctx);
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    // RFC 7592 §2.2: the body carries the client_id, and it must match.
    if (body.client_id !== undefined && body.client_id !== client.clientId)
      throw invalidMetadata('client_id does not match');
    const metadata = parseRegistration(body);
    const updated = await mapDomain(() =>
      services.oauth.clients.update(client.clientId, metadata, { type: 'client', id: client.clientId }),
    );
    ctx.body = describe(updated, publicUrlOf(ctx));
  };

export const deleteRegistration =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const client = await managedClient(services, ctx);
    await services.oauth.clients.delete(client.clientId, { type: 'client', id: client.clientId });
    ctx.status = 204;
  };
