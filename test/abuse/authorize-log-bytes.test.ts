// Abuse, bounded: anonymous traffic at /oauth/authorize and failed sign-ins must not grow the event log's
// grant streams (nothing permanent for an unauthenticated request), while a real user's flow still works.
// Loopback only: the attacker speaks from 127.0.0.2, the user from 127.0.0.1.
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestServer, type TestServer } from '../support/server.ts';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { authorizeUrl, csrfOf, formAction, freshTokens, pkce, publicClient, REDIRECT } from '../http/oauth/support.ts';

const test = suite<{ server: TestServer }>('abuse: log bytes from anonymous /oauth/authorize and failed sign-ins');

test.before(async (context) => {
  // Hundreds of authorize requests from one address: the per-address limit (its own test is in
  // test/http/oauth/cimd-fetch.test.ts) is raised so this suite measures what it is about.
  context.server = await startTestServer({ AUTHORIZE_RATE_LIMIT_PER_MINUTE: '100000' });
});
test.after(async ({ server }) => server.stop());

type Answer = { status: number; location: string | undefined; setCookies: string[]; body: string };

/** One request from another loopback address, with its own cookies (an attacker's browser). */
const send = (
  url: string,
  options: { method?: string; cookies?: Map<string, string>; form?: Record<string, string> } = {},
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const body = options.form ? new URLSearchParams(options.form).toString() : undefined;
    const target = new URL(url);
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: options.method ?? 'GET',
        localAddress: '127.0.0.2',
        headers: {
          accept: 'text/html',
          cookie: [...(options.cookies ?? new Map<string, string>())].map(([k, v]) => `${k}=${v}`).join('; '),
          ...(body ? { 'content-type': 'application/x-www-form-urlencoded', origin: target.origin } : {}),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const setCookies = response.headers['set-cookie'] ?? [];
          for (const line of setCookies) {
            const [pair] = line.split(';');
            const index = pair!.indexOf('=');
            options.cookies?.set(pair!.slice(0, index), pair!.slice(index + 1));
          }
          resolve({ status: response.statusCode ?? 0, location: response.headers.location, setCookies, body: text });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });

const bytesOf = (event: RecordedEvent) =>
  Buffer.byteLength(JSON.stringify(event.data)) + Buffer.byteLength(JSON.stringify(event.metadata));

test('300 anonymous requests (authorize with 1 KB of state, failed sign-ins) append 0 bytes to grant streams; a user signs in meanwhile', async ({
  server,
}) => {
  const started = Date.now();
  const client = await publicClient(server);
  // Bytes stored in grant streams. PostgreSQL: summed in SQL over the table (the global read can lag
  // behind commits on a busy shared server); other logs: summed over a full read.
  const grantBytes = async (except: Set<string> = new Set()): Promise<number> => {
    if (server.services.log.kind === 'postgres')
      return Number(
        (
          await server.services.db.query<{ n: string }>(
            `SELECT coalesce(sum(octet_length(data::text) + octet_length(metadata::text)), 0) AS n FROM events
              WHERE stream_id LIKE 'oauth-grant-%' AND NOT (stream_id = ANY($1))`,
            [[...except]],
          )
        ).rows[0]!.n,
      );
    return (await server.services.log.readAll({ maxCount: 100_000 }))
      .filter((event) => event.stream.startsWith('oauth-grant-') && !except.has(event.stream))
      .reduce((sum, event) => sum + bytesOf(event), 0);
  };
  const before = await grantBytes();
  // Wrong passwords go to a real account too, but not the one signing in meanwhile: the per-account
  // throttle of that account is another rule's business.
  const victim = 'victim@example.test';
  await server.services.users.create({ email: victim, password: 'victim-password-1' }, { type: 'system', id: 'test' });
  const query = () => ({
    response_type: 'code',
    client_id: client.client_id,
    redirect_uri: REDIRECT,
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
    state: 'x'.repeat(1_000),
    nonce: 'n'.repeat(100),
  });
  const statuses: Record<string, number> = {};
  const count = (label: string, status: number) =>
    (statuses[`${label} ${status}`] = (statuses[`${label} ${status}`] ?? 0) + 1);
  let requests = 0;

  const attacker = async () => {
    // 120 bare authorization requests…
    for (let i = 0; i < 120; i += 1) {
      const answer = await send(authorizeUrl(server.base, query()));
      requests += 1;
      count('authorize', answer.status);
    }
    // …and 60 failed sign-ins, each behind its own authorization request and login page (3 requests).
    for (let i = 0; i < 60; i += 1) {
      const cookies = new Map<string, string>();
      const start = await send(authorizeUrl(server.base, query()), { cookies });
      const page = start.location ? await send(start.location, { cookies }) : undefined;
      requests += page ? 2 : 1;
      if (!page || page.status !== 200) {
        count('login page', page?.status ?? start.status);
        continue;
      }
      const failed = await send(new URL(formAction(page.body), server.base).toString(), {
        method: 'POST',
        cookies,
        form: {
          csrf: csrfOf(page.body),
          email: i % 2 ? victim : `nobody${i}@example.test`,
          password: 'wrong',
        },
      });
      requests += 1;
      count('sign-in', failed.status);
    }
  };
  // The user's complete flows (authorize → login → consent → code → token) run at the same time.
  const user = async () => {
    const tokens = [];
    for (let i = 0; i < 3; i += 1) tokens.push(await freshTokens(server));
    return tokens;
  };
  const [, flows] = await Promise.all([attacker(), user()]);

  assert.is(requests, 300);
  assert.is((statuses['authorize 303'] ?? 0) + (statuses['authorize 429'] ?? 0), 120, JSON.stringify(statuses));
  assert.is((statuses['sign-in 401'] ?? 0) + (statuses['sign-in 429'] ?? 0), 60, JSON.stringify(statuses));
  assert.ok((statuses['sign-in 401'] ?? 0) > 0, 'some failures reached the password check');
  for (const flow of flows) {
    const info = await server.services.oauth.verifier.verify(flow.tokens.access_token, `${server.base}/mcp`);
    assert.ok(info.subject);
  }

  const userGrants = new Set(flows.map((flow) => `oauth-grant-${flow.code.split('.')[0]}`));
  assert.is((await grantBytes(userGrants)) - before, 0);
  // The user's own grants tell their whole story (read from their streams: strongly consistent).
  for (const stream of userGrants)
    assert.equal(
      (await server.services.log.readStream(stream)).map((event) => event.type),
      ['AuthorizationRequested', 'ConsentGiven', 'AuthorizationCodeIssued', 'AuthorizationCodeRedeemed'],
    );
  assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
});

test.run();
