// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3,
// OAuth 2.1 §2.4): HTTP Basic or client_secret in the form (either, for any client with a secret), or
// client_id alone for public clients.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import type { ClientCredentials } from '../../app/oauth/clients.ts';
import { DomainError } from '../../domain/shared.ts';
import { formBody } from '../forms.ts';
import { requestSignal } from '../abort.ts';
import { HttpError } from '../errors.ts';
import type { ClientAuthThrottle } from './rate-limits.ts';

type Deps = Pick<HttpDeps, 'logger' | 'oauth'>;

const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="remotemcp", charset="UTF-8"' };

const decode = (value: string): string => {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new HttpError(400, 'invalid_request', 'malformed client credentials');
  }
};

/** The credentials the request carries; one method only (RFC 6749 §2.3: a client MUST NOT use more than one). */
export const readCredentials = (ctx: Koa.Context): ClientCredentials => {
  const body = formBody(ctx);
  const header = ctx.get('authorization');
  if (header) {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) throw new HttpError(401, 'invalid_client', 'unsupported Authorization header', true, BASIC_CHALLENGE);
    if (body.client_secret !== undefined)
      throw new HttpError(
        400,
        'invalid_request',
        'send the client credentials once: in the Authorization header or in the form, not both',
      );
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpError(401, 'invalid_client', 'malformed Basic credentials', true, BASIC_CHALLENGE);
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
    const clientId = decode(decoded.slice(0, colon));
    if (body.client_id !== undefined && body.client_id !== clientId)
      throw new HttpError(400, 'invalid_request', 'client_id does not match the credentials');
    return { clientId, secret: decode(decoded.slice(colon + 1)), method: 'client_secret_basic' };
  }
  if (!body.client_id) throw new HttpError(401, 'invalid_client', 'client authentication is required');
  if (body.client_secret !== undefined)
    return { clientId: body.client_id, secret: body.client_secret, method: 'client_secret_post' };
  return { clientId: body.client_id, secret: undefined, method: 'none' };
};

/**
 * Authenticates the client into ctx.state.client; bad Basic credentials get 401 + WWW-Authenticate: Basic
 * (RFC 6749 §5.2). Failures are throttled per client_id and address, and write no event: a stream of
 * bad secrets leaves the event log as it was.
 */
export const authenticateClient =
  (services: Deps, throttle: ClientAuthThrottle, options: { confidentialOnly?: boolean } = {}): Koa.Middleware =>
  async (ctx, next) => {
    const credentials = readCredentials(ctx);
    const challenge = credentials.method === 'client_secret_basic' ? BASIC_CHALLENGE : {};
    await throttle.check(ctx.ip, credentials.clientId);
    try {
      // The request's signal is read only for a metadata-document client (an outbound fetch): made on
      // that read, a registered client's request spends no AbortController and 'close' listener on it.
      const options = {
        get signal() {
          return requestSignal(ctx);
        },
      };
      ctx.state.client = await services.oauth.clients.authenticate(credentials, options);
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'invalid_client')) throw error;
      if (await throttle.failed(ctx.ip, credentials.clientId))
        services.logger.warn(
          { ip: ctx.ip, clientId: credentials.clientId.slice(0, 200) },
          'client authentication throttled',
        );
      throw new HttpError(401, 'invalid_client', error.message, true, challenge);
    }
    if (options.confidentialOnly && credentials.method === 'none')
      throw new HttpError(401, 'invalid_client', 'this endpoint needs a confidential client');
    await next();
  };
