// Discovery: RFC 8414 authorization server metadata (also served as OIDC discovery), RFC 9728
// protected resource metadata for /mcp, and the JWKS.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import { mcpResource } from '../../app/oauth/authorizations.ts';
import { MCP_SCOPES, SUPPORTED_SCOPES } from '../../domain/scopes.ts';
import { publicUrlOf } from '../public-url.ts';

type Deps = Pick<HttpDeps, 'oauth'>;

export const serverMetadata = (publicUrl: string) => ({
  // RFC 8414 §3.3: issuer identical to the URL the metadata was fetched under (PUBLIC_URL exactly, or
  // the loopback origin of the request when it is unset).
  issuer: publicUrl,
  authorization_endpoint: `${publicUrl}/oauth/authorize`,
  token_endpoint: `${publicUrl}/oauth/token`,
  registration_endpoint: `${publicUrl}/oauth/register`,
  revocation_endpoint: `${publicUrl}/oauth/revoke`,
  introspection_endpoint: `${publicUrl}/oauth/introspect`,
  userinfo_endpoint: `${publicUrl}/oauth/userinfo`,
  jwks_uri: `${publicUrl}/oauth/jwks`,
  // OIDC RP-Initiated Logout 1.0 §2.1.
  end_session_endpoint: `${publicUrl}/oauth/logout`,
  scopes_supported: [...SUPPORTED_SCOPES],
  response_types_supported: ['code'],
  response_modes_supported: ['query'],
  grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
  code_challenge_methods_supported: ['S256'],
  token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
  revocation_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post'],
  introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
  // RFC 9207 §3: authorization responses carry `iss`.
  authorization_response_iss_parameter_supported: true,
  // draft-ietf-oauth-client-id-metadata-document: an https client_id names its metadata document.
  client_id_metadata_document_supported: true,
  request_parameter_supported: false,
  request_uri_parameter_supported: false,
  // OpenID Connect Discovery 1.0 §3 required fields.
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: ['ES256'],
  claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'email', 'email_verified', 'name'],
});

export const resourceMetadata = (publicUrl: string) => ({
  resource: mcpResource(publicUrl),
  authorization_servers: [publicUrl],
  scopes_supported: [...MCP_SCOPES],
  bearer_methods_supported: ['header'],
  resource_name: 'RemoteMCP',
});

const publicJson = (ctx: Koa.Context, body: unknown, maxAge = 300) => {
  ctx.set('Cache-Control', `public, max-age=${maxAge}`);
  ctx.body = body;
};

export const serveServerMetadata =
  (_services: Deps): Koa.Middleware =>
  async (ctx) =>
    publicJson(ctx, serverMetadata(publicUrlOf(ctx)));
export const serveResourceMetadata =
  (_services: Deps): Koa.Middleware =>
  async (ctx) =>
    publicJson(ctx, resourceMetadata(publicUrlOf(ctx)));
// Short cache: after a rotation clients must see the new key soon.
export const serveJwks =
  (services: Deps): Koa.Middleware =>
  async (ctx) =>
    publicJson(ctx, await services.oauth.keys.jwks(), 60);
