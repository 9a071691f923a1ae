// Bearer authentication of /mcp (MCP 2025-11-25 basic/authorization; RFC 6750 §3; RFC 9728 §5.1).
import type Koa from 'koa';
import { InvalidTokenError } from '../../app/auth-port.ts';
import type { HttpDeps } from '../deps.ts';
import { MCP_SCOPES } from '../../domain/scopes.ts';
import type { McpCaller } from '../../mcp/index.ts';
import { HttpError } from '../errors.ts';
import { publicUrlOf } from '../public-url.ts';

type Deps = Pick<HttpDeps, 'config' | 'mcp' | 'rateLimits'>;

const quote = (value: string): string => `"${value.replace(/["\\]/g, '')}"`;

/** `WWW-Authenticate: Bearer resource_metadata="…", scope="…"[, error="…", error_description="…"]`. */
export const bearerChallenge = (
  publicUrl: string,
  scope: string,
  error?: { code: string; description: string },
): string => {
  const parts = [
    `resource_metadata=${quote(`${publicUrl}/.well-known/oauth-protected-resource/mcp`)}`,
    `scope=${quote(scope)}`,
  ];
  if (error) parts.push(`error=${quote(error.code)}`, `error_description=${quote(error.description)}`);
  return `Bearer ${parts.join(', ')}`;
};

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** Sets ctx.state.caller; 401 without a usable token. Fixtures mode: everyone is the fixtures user. */
export const authenticate =
  (services: Deps): Koa.Middleware =>
  async (ctx, next) => {
    const { mcp, config } = services;
    if (mcp.fixtures) {
      ctx.state.caller = mcp.fixturesCaller;
      return next();
    }
    const allScopes = MCP_SCOPES.join(' ');
    const publicUrl = publicUrlOf(ctx);
    const header = ctx.get('authorization');
    if (!header) {
      // RFC 6750 §3.1: no error code when the request carried no authentication.
      throw new HttpError(401, 'unauthorized', 'a bearer token is required', true, {
        'WWW-Authenticate': bearerChallenge(publicUrl, allScopes),
      });
    }
    const match = BEARER.exec(header);
    let caller: McpCaller;
    try {
      if (!match) throw new InvalidTokenError('malformed', 'the Authorization header is not a bearer token');
      // Audience check inside verify: a token for another resource is refused (no token passthrough).
      caller = await mcp.authenticate(match[1]!, `${publicUrl}/mcp`);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) throw error;
      throw new HttpError(401, 'invalid_token', error.message, true, {
        'WWW-Authenticate': bearerChallenge(publicUrl, allScopes, {
          code: 'invalid_token',
          description: error.message,
        }),
      });
    }
    // A token without any MCP scope cannot use the endpoint at all (RFC 6750 §3.1 insufficient_scope).
    if (!caller.scopes.some((scope) => (MCP_SCOPES as readonly string[]).includes(scope))) {
      throw insufficientScope(publicUrl, allScopes);
    }
    // Issue 8: a runaway client is slowed per token (429 + Retry-After), not the whole server.
    await services.rateLimits.consume(
      'mcp-token',
      { points: config.mcpRateLimitPerMinute, durationSeconds: 60 },
      caller.tokenId ?? `${caller.userId}:${caller.clientId}`,
    );
    ctx.state.caller = caller;
    await next();
  };

export const insufficientScope = (publicUrl: string, scope: string): HttpError =>
  new HttpError(403, 'insufficient_scope', `this call needs the scope ${scope}`, true, {
    'WWW-Authenticate': bearerChallenge(publicUrl, scope, {
      code: 'insufficient_scope',
      description: `requires ${scope}`,
    }),
  });
