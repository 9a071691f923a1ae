// Helpers for the oauth e2e suites: a tiny browser (cookie jar + forms over fetch), PKCE, registration,
// and reading the events a step wrote.
import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from '../../support/server.ts';
import { CookieJar, csrfOf } from '../../support/browser.ts';

export { csrfOf } from '../../support/browser.ts';
import type { RecordedEvent } from '../../../eventstore/port.ts';

export const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

/** A cookie-keeping client that does not follow redirects (tests look at every Location). */
export class Browser extends CookieJar {
  constructor(readonly base: string) {
    super();
  }

  async get(url: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(new URL(url, this.base), {
      redirect: 'manual',
      headers: { accept: 'text/html', cookie: this.cookieHeader(), ...headers },
    });
    this.remember(response);
    return response;
  }

  async post(
    url: string,
    form: Record<string, string>,
    headers: Record<string, string> = { origin: this.base },
  ): Promise<Response> {
    const response = await fetch(new URL(url, this.base), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        accept: 'text/html',
        'content-type': 'application/x-www-form-urlencoded',
        cookie: this.cookieHeader(),
        ...headers,
      },
      body: new URLSearchParams(form).toString(),
    });
    this.remember(response);
    return response;
  }
}

export const formAction = (html: string): string => {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  if (!match) throw new Error('no form');
  return match[1]!.replace(/&amp;/g, '&');
};

export type RegisteredClient = {
  client_id: string;
  client_secret?: string;
  registration_access_token?: string;
  [key: string]: unknown;
};

export const register = async (
  base: string,
  metadata: Record<string, unknown>,
): Promise<{ status: number; body: RegisteredClient & { error?: string } }> => {
  const response = await fetch(`${base}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
  return { status: response.status, body: (await response.json()) as RegisteredClient & { error?: string } };
};

/**
 * A public client registered through the application service (the HTTP registration endpoint is rate
 * limited per address, and its own suite covers it).
 */
export const publicClient = async (
  server: TestServer,
  redirectUri = 'http://127.0.0.1:9999/callback',
  extra: { redirect_uris?: string[]; grant_types?: ('authorization_code' | 'refresh_token')[] } = {},
) => {
  const { client } = await server.services.oauth.clients.register(
    {
      clientName: 'Test client',
      redirectUris: extra.redirect_uris ?? [redirectUri],
      grantTypes: extra.grant_types ?? ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      applicationType: 'web',
    },
    'dynamic',
    { type: 'system', id: 'test' },
  );
  return { client_id: client.clientId };
};

/** A client an admin registered (public, authorization code): its redirect URIs are trusted (RFC 9700 §4.11.2). */
export const vettedClient = async (server: TestServer, redirectUri = 'http://127.0.0.1:9999/callback') => {
  const { client } = await server.services.oauth.clients.register(
    {
      clientName: 'Vetted client',
      redirectUris: [redirectUri],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'none',
      applicationType: 'web',
    },
    'admin',
    { type: 'system', id: 'test' },
  );
  return { client_id: client.clientId };
};

/**
 * An authorization error shown on a page instead of redirected: 400, no Location, the error code, and a
 * link back to the redirect URI carrying the error. Returns that link.
 */
export const errorPage = async (response: Response, code: string): Promise<URL> => {
  if (response.status !== 400)
    throw new Error(`expected a 400 page, got ${response.status} ${response.headers.get('location')}`);
  if (response.headers.get('location') !== null) throw new Error('an error page must not redirect');
  const html = await response.text();
  if (!html.includes(`Error: <code>${code}</code>`))
    throw new Error(`page does not name ${code}: ${html.slice(0, 500)}`);
  const link = /<a[^>]*href="([^"]+)"[^>]*>Return to/.exec(html);
  if (!link) throw new Error('no return link on the error page');
  return new URL(link[1]!.replace(/&amp;/g, '&'));
};

export const authorizeUrl = (base: string, params: Record<string, string | undefined>): string => {
  const url = new URL('/oauth/authorize', base);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
};

/** Signs in on the login page the browser was sent to; returns the response to the POST. */
export const login = async (browser: Browser, loginUrl: string, email: string, password: string): Promise<Response> => {
  const page = await browser.get(loginUrl);
  const html = await page.text();
  return browser.post(formAction(html), { csrf: csrfOf(html), email, password });
};

/** Answers the consent page at `consentUrl`. */
export const consent = async (
  browser: Browser,
  consentUrl: string,
  decision: 'approve' | 'deny',
): Promise<Response> => {
  const page = await browser.get(consentUrl);
  const html = await page.text();
  return browser.post(formAction(html), { csrf: csrfOf(html), decision });
};

/**
 * The whole front channel for a fresh browser: authorize → login → consent (approve) → redirect.
 * Returns the final redirect URL (with code, state, iss).
 */
export const obtainCode = async (
  server: TestServer,
  params: Record<string, string | undefined>,
  user = { email: server.adminEmail, password: server.adminPassword },
  browser = new Browser(server.base),
): Promise<URL> => {
  const start = await browser.get(authorizeUrl(server.base, params));
  if (start.status !== 303) throw new Error(`authorize answered ${start.status}: ${await start.text()}`);
  let location = start.headers.get('location')!;
  if (location.includes('/oauth/login')) {
    const posted = await login(browser, location, user.email, user.password);
    if (posted.status !== 303) throw new Error(`login answered ${posted.status}`);
    location = posted.headers.get('location')!;
  }
  if (location.includes('/oauth/consent')) {
    const approved = await consent(browser, location, 'approve');
    if (approved.status !== 303) throw new Error(`consent answered ${approved.status}: ${await approved.text()}`);
    location = approved.headers.get('location')!;
  }
  return new URL(location);
};

export const tokenRequest = async (
  base: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) => {
  const response = await fetch(`${base}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
};

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * All events, once every committed one is visible to global reads (PostgreSQL shows a transaction in
 * global order only when no older one is still running): wait until the projections passed the head.
 */
const settledEvents = async (server: TestServer): Promise<RecordedEvent[]> => {
  await server.services.projections.waitFor(await server.services.log.headPosition());
  return server.services.log.readAll({ maxCount: 100_000 });
};
/** Events appended after `since` (a count from eventCount). */
export const eventsSince = async (server: TestServer, since: number): Promise<RecordedEvent[]> =>
  (await settledEvents(server)).slice(since);
export const eventCount = async (server: TestServer): Promise<number> => (await settledEvents(server)).length;
export const typesOf = (events: readonly RecordedEvent[]) => events.map((event) => event.type);

export const REDIRECT = 'http://127.0.0.1:9999/callback';

/** An authorization request of `client_id` to REDIRECT with S256 PKCE (RFC 7636 §4.3); `extra` adds or unsets parameters. */
export const codeRequest = (
  client_id: string | undefined,
  challenge: string,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> => ({
  response_type: 'code',
  client_id,
  redirect_uri: REDIRECT,
  code_challenge: challenge,
  code_challenge_method: 'S256',
  ...extra,
});

/** A fresh browser's GET of the authorize endpoint: the first answer, not followed. */
export const authorize = (
  server: TestServer,
  params: Record<string, string | undefined>,
  headers: Record<string, string> = {},
): Promise<Response> => new Browser(server.base).get(authorizeUrl(server.base, params), headers);

/** Runs the front channel for `client_id` with a fresh PKCE pair; returns the code and its verifier. */
export const codeFor = async (
  server: TestServer,
  client_id: string,
  extra: Record<string, string | undefined> = {},
  user?: { email: string; password: string },
) => {
  const { verifier, challenge } = pkce();
  const callback = await obtainCode(server, codeRequest(client_id, challenge, extra), user);
  return { code: callback.searchParams.get('code')!, verifier, callback };
};

/** Redeems a code (RFC 6749 §4.1.3) sent to REDIRECT; `extra` adds or overrides form fields. */
export const redeemCode = (
  base: string,
  { code, verifier, client_id }: { code: string; verifier?: string; client_id: string },
  extra: Record<string, string> = {},
) =>
  tokenRequest(base, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    ...(verifier === undefined ? {} : { code_verifier: verifier }),
    client_id,
    ...extra,
  });

/** A public client's refresh request (RFC 6749 §6); `extra` adds fields such as a narrower scope. */
export const refreshRequest = (
  base: string,
  client_id: string,
  refresh_token: string,
  extra: Record<string, string> = {},
) => tokenRequest(base, { grant_type: 'refresh_token', refresh_token, client_id, ...extra });

/** A public client's revocation request (RFC 7009 §2.1). */
export const revokeRequest = (base: string, token: string, client_id: string): Promise<Response> =>
  fetch(`${base}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id }),
  });

/** Registers a public client and runs a full flow; returns the client, the code exchange answer and the PKCE pair. */
export const freshTokens = async (
  server: TestServer,
  options: { scope?: string; user?: { email: string; password: string } } = {},
) => {
  const client = await publicClient(server);
  const { code, verifier } = await codeFor(
    server,
    client.client_id,
    { state: 'st', scope: options.scope },
    options.user,
  );
  const exchange = await redeemCode(server.base, { code, verifier, client_id: client.client_id });
  if (exchange.status !== 200) throw new Error(`exchange failed: ${JSON.stringify(exchange.body)}`);
  return {
    client,
    code,
    verifier,
    tokens: exchange.body as { access_token: string; refresh_token: string; scope: string },
  };
};

export const reasonOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { reason?: string; code?: string }).reason ?? (error as { code?: string }).code ?? String(error);
  }
};
