// The pending authorization request of this browser: one cookie per request, named by its id, so two
// tabs (or two clients) can be mid-sign-in at once. The login and consent pages accept only a request
// whose cookie this browser carries: a request id pasted into another browser leads nowhere.
import type Koa from 'koa';
import type { HttpDeps } from '../deps.ts';
import type { Client } from '../../domain/clients/index.ts';
import type { PendingRequest } from '../../app/oauth/authorizations.ts';
import { INTERACTION_TTL_MS } from '../../app/oauth/pending-requests.ts';
import { DomainError } from '../../domain/shared.ts';
import { clearCookie, cookieName, getCookie, setCookie } from '../cookies.ts';

type Deps = Pick<HttpDeps, 'config' | 'oauth'>;

const BASE = 'rmcp_authz_';
/** Pending requests one browser may hold; starting another drops the oldest (bounds the Cookie header). */
export const MAX_PENDING_PER_BROWSER = 3;
/** Cookies looked at when making room: a request carrying hundreds costs no more than this many. */
const SCAN_LIMIT = 20;
const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const expired = () =>
  new DomainError(
    'request_expired',
    'this sign-in request has expired, was already answered, or was started in another browser; start again from the application',
  );

/** Ids of the pending-request cookies this request carries (names only; values are checked when used). */
const pendingIds = (ctx: Koa.Context, services: Deps): string[] => {
  const prefix = cookieName(services.config, BASE);
  const ids: string[] = [];
  for (const pair of ctx.get('cookie').split(';')) {
    const name = pair.slice(0, pair.indexOf('=')).trim();
    const id = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (ID.test(id) && !ids.includes(id)) ids.push(id);
    if (ids.length >= SCAN_LIMIT) break;
  }
  return ids;
};

/** Stores `request` in this browser; the oldest (or unreadable) pending requests make room first. */
export const savePending = async (
  ctx: Koa.Context,
  services: Deps,
  request: PendingRequest,
  client: Client,
): Promise<void> => {
  const { authorizations } = services.oauth;
  const sealed = await authorizations.seal(request, client);
  const others: { id: string; requestedAt: number }[] = [];
  for (const id of pendingIds(ctx, services)) {
    const value = getCookie(ctx, services.config, `${BASE}${id}`);
    const open = value ? await authorizations.unseal(value, id) : undefined;
    if (open) others.push({ id, requestedAt: open.requestedAt.getTime() });
    else clearPending(ctx, services, id);
  }
  others.sort((a, b) => a.requestedAt - b.requestedAt);
  for (const old of others.slice(0, Math.max(0, others.length - (MAX_PENDING_PER_BROWSER - 1))))
    clearPending(ctx, services, old.id);
  // SameSite=Lax: the authorization request arrives by a cross-site top-level navigation.
  setCookie(ctx, services.config, `${BASE}${request.grantId}`, sealed, {
    sameSite: 'Lax',
    maxAgeSeconds: INTERACTION_TTL_MS / 1_000,
  });
};

/** This browser's pending request `grantId`, or 400 request_expired (unknown, expired, answered, other browser). */
export const loadPending = async (ctx: Koa.Context, services: Deps, grantId: string): Promise<PendingRequest> => {
  if (!ID.test(grantId)) throw expired();
  const value = getCookie(ctx, services.config, `${BASE}${grantId}`);
  const request = value ? await services.oauth.authorizations.unseal(value, grantId) : undefined;
  if (!request) throw expired();
  return request;
};

export const clearPending = (ctx: Koa.Context, services: Deps, grantId: string): void =>
  clearCookie(ctx, services.config, `${BASE}${grantId}`);
