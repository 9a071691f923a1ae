// Client authentication at /oauth/token, /oauth/revoke and /oauth/introspect: a secret client may send
// its secret by either method (RFC 6749 §2.3.1), never by both at once (§2.3); each invalid_client says
// what was wrong; repeated bad secrets for one client from one address are throttled (429 + Retry-After)
// without touching the event log, while the same client from another address keeps working.
// Loopback only: the attacker speaks from 127.0.0.2 (and .3, .4), the real client from 127.0.0.1.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLIENT_AUTH_FAILURES } from '../../../app/oauth/clients.ts';
import { CLIENT_AUTH_THROTTLE } from '../../../http/oauth/rate-limits.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { skipSuite } from '../../support/skip.ts';
import { basic, eventCount, publicClient, REDIRECT } from './support.ts';
import { redisIsUp, twoInstancesOnRedis } from '../../support/redis.ts';

const test = suite<{ server: TestServer }>('oauth: client authentication (methods, errors, throttle)');
const TEST = { type: 'system', id: 'test' } as const;

test.before(async (context) => {
  context.server = await startTestServer();
});
test.after(async ({ server }) => server.stop());

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: Record<string, unknown> };

/** A form POST to `path`, sent from `localAddress` (a loopback address other than the default one). */
const post = (
  server: TestServer,
  path: string,
  form: Record<string, string>,
  options: { authorization?: string; localAddress?: string } = {},
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const target = new URL(path, server.base);
    const body = new URLSearchParams(form).toString();
    const request = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        localAddress: options.localAddress ?? '127.0.0.1',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(options.authorization ? { authorization: options.authorization } : {}),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });

/** A machine client (the CLI's `clients add --user`): registered for client_secret_basic. */
const basicClient = async (server: TestServer, name: string) => {
  const created = await server.services.oauth.createMachineClient({ name, userEmail: `${name}@example.com` }, TEST);
  assert.is(created.client.tokenEndpointAuthMethod, 'client_secret_basic');
  return { id: created.client.clientId, secret: created.clientSecret! };
};

/** A client registered for client_secret_post (as open registration may ask). */
const postClient = async (server: TestServer) => {
  const { client, clientSecret } = await server.services.oauth.clients.register(
    {
      clientName: 'post client',
      redirectUris: [REDIRECT],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'client_secret_post',
      applicationType: 'web',
    },
    'dynamic',
    TEST,
  );
  return { id: client.clientId, secret: clientSecret! };
};

const problem = (answer: Answer) => ({ error: answer.body.error, error_description: answer.body.error_description });

test('metadata lists both secret methods for every endpoint that authenticates clients', async ({ server }) => {
  const metadata = (await (await fetch(`${server.base}/.well-known/oauth-authorization-server`)).json()) as Record<
    string,
    string[]
  >;
  for (const field of [
    'token_endpoint_auth_methods_supported',
    'revocation_endpoint_auth_methods_supported',
    'introspection_endpoint_auth_methods_supported',
  ]) {
    assert.ok(metadata[field]?.includes('client_secret_basic'), field);
    assert.ok(metadata[field]?.includes('client_secret_post'), field);
  }
});

test('a client_secret_basic client may post its secret, a client_secret_post client may use Basic (RFC 6749 §2.3.1)', async ({
  server,
}) => {
  const machine = await basicClient(server, 'either-basic');
  const posted = await post(server, '/oauth/token', {
    grant_type: 'client_credentials',
    client_id: machine.id,
    client_secret: machine.secret,
  });
  assert.is(posted.status, 200, JSON.stringify(posted.body));
  assert.type(posted.body.access_token, 'string');
  const viaBasic = await post(
    server,
    '/oauth/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(machine.id, machine.secret) },
  );
  assert.is(viaBasic.status, 200);

  const web = await postClient(server);
  // Authenticated either way: the grant is what is wrong (400 invalid_grant, not 401 invalid_client).
  for (const [form, authorization] of [
    [{ client_id: web.id, client_secret: web.secret }, undefined],
    [{}, basic(web.id, web.secret)],
  ] as const) {
    const refresh = await post(
      server,
      '/oauth/token',
      { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token', ...form },
      authorization ? { authorization } : {},
    );
    assert.is(refresh.status, 400, JSON.stringify(refresh.body));
    assert.is(refresh.body.error, 'invalid_grant');
    const introspect = await post(
      server,
      '/oauth/introspect',
      { token: 'x', ...form },
      authorization ? { authorization } : {},
    );
    assert.is(introspect.status, 200);
    assert.equal(introspect.body, { active: false });
    const revoke = await post(server, '/oauth/revoke', { token: 'x', ...form }, authorization ? { authorization } : {});
    assert.is(revoke.status, 200);
  }
});

test('credentials by Basic and in the form at once → 400 invalid_request (RFC 6749 §2.3)', async ({ server }) => {
  const machine = await basicClient(server, 'both-at-once');
  for (const path of ['/oauth/token', '/oauth/revoke', '/oauth/introspect']) {
    const both = await post(
      server,
      path,
      { grant_type: 'client_credentials', token: 'x', client_id: machine.id, client_secret: machine.secret },
      { authorization: basic(machine.id, machine.secret) },
    );
    assert.is(both.status, 400, path);
    assert.equal(problem(both), {
      error: 'invalid_request',
      error_description: 'send the client credentials once: in the Authorization header or in the form, not both',
    });
  }
});

test('invalid_client names what was wrong; Basic failures carry 401 + WWW-Authenticate: Basic', async ({ server }) => {
  const machine = await basicClient(server, 'named-failures');
  const pub = await publicClient(server);
  const cases: { name: string; form: Record<string, string>; authorization?: string; description: string }[] = [
    {
      name: 'unknown client, Basic',
      form: {},
      authorization: basic('00000000-0000-4000-8000-000000000000', 'whatever'),
      description: CLIENT_AUTH_FAILURES.unknownClient,
    },
    {
      name: 'unknown client, form',
      form: { client_id: '00000000-0000-4000-8000-000000000000', client_secret: 'whatever' },
      description: CLIENT_AUTH_FAILURES.unknownClient,
    },
    {
      name: 'wrong secret, Basic',
      form: {},
      authorization: basic(machine.id, 'wrong'),
      description: CLIENT_AUTH_FAILURES.wrongSecret,
    },
    {
      name: 'wrong secret, form',
      form: { client_id: machine.id, client_secret: 'wrong' },
      description: CLIENT_AUTH_FAILURES.wrongSecret,
    },
    {
      name: 'public client sending a secret, form',
      form: { client_id: pub.client_id, client_secret: 'x' },
      description: CLIENT_AUTH_FAILURES.publicWithSecret,
    },
    {
      name: 'public client sending a secret, Basic',
      form: {},
      authorization: basic(pub.client_id, 'x'),
      description: CLIENT_AUTH_FAILURES.publicWithSecret,
    },
    {
      name: 'confidential client sending no secret',
      form: { client_id: machine.id },
      description: CLIENT_AUTH_FAILURES.secretMissing,
    },
  ];
  // The exact texts, so that a change to them is a decision (an unknown client and a wrong secret are
  // told apart: a client_id is no secret, RFC 6749 §2.2).
  assert.equal(CLIENT_AUTH_FAILURES, {
    unknownClient: 'no client is registered with this client_id',
    wrongSecret: 'the client secret is wrong',
    publicWithSecret: 'this client is public: send its client_id alone, without a client_secret',
    secretMissing: 'this client has a secret: send it by client_secret_basic or client_secret_post',
  });
  const before = await eventCount(server);
  for (const entry of cases) {
    const answer = await post(
      server,
      '/oauth/token',
      { grant_type: 'client_credentials', ...entry.form },
      entry.authorization ? { authorization: entry.authorization } : {},
    );
    assert.is(answer.status, 401, entry.name);
    assert.equal(problem(answer), { error: 'invalid_client', error_description: entry.description }, entry.name);
    assert.is(
      answer.headers['www-authenticate'],
      entry.authorization ? 'Basic realm="remotemcp", charset="UTF-8"' : undefined,
      entry.name,
    );
  }
  assert.is(await eventCount(server), before, 'failed client authentication writes no event');
});

test('200 bad Basic secrets from one address: 401 ×10, then 429 + Retry-After, no events; the real client elsewhere gets 200', async ({
  server,
}) => {
  const machine = await basicClient(server, 'throttled');
  const good = { authorization: basic(machine.id, machine.secret) };
  const bad = { authorization: basic(machine.id, 'guess'), localAddress: '127.0.0.2' };
  const before = await eventCount(server);
  const statuses: number[] = [];
  let retryAfter: string | undefined;
  let blocked: Answer | undefined;
  for (let attempt = 0; attempt < 200; attempt++) {
    const answer = await post(server, '/oauth/token', { grant_type: 'client_credentials' }, bad);
    statuses.push(answer.status);
    if (answer.status === 429 && !blocked) {
      blocked = answer;
      retryAfter = answer.headers['retry-after'] as string | undefined;
    }
  }
  const free = CLIENT_AUTH_THROTTLE.free;
  assert.equal(statuses.slice(0, free), Array(free).fill(401));
  assert.equal(statuses.slice(free), Array(200 - free).fill(429));
  assert.is(blocked?.body.error, 'rate_limited');
  assert.match(String(blocked?.body.error_description), /^too many failed client authentications/);
  assert.ok(retryAfter && /^\d+$/.test(retryAfter), `Retry-After: ${retryAfter}`);
  assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= CLIENT_AUTH_THROTTLE.blockSeconds, retryAfter);
  assert.is(await eventCount(server), before, 'no event for a failed or throttled client authentication');

  // The real client from its own address is unaffected (an attacker cannot lock it out) …
  const real = await post(server, '/oauth/token', { grant_type: 'client_credentials' }, good);
  assert.is(real.status, 200, JSON.stringify(real.body));
  // … and from the attacker's address even the right secret waits.
  const same = await post(
    server,
    '/oauth/token',
    { grant_type: 'client_credentials' },
    { ...good, localAddress: '127.0.0.2' },
  );
  assert.is(same.status, 429);
  // Another client from the attacker's address is not blocked.
  const other = await basicClient(server, 'throttled-neighbour');
  const neighbour = await post(
    server,
    '/oauth/token',
    { grant_type: 'client_credentials' },
    { authorization: basic(other.id, other.secret), localAddress: '127.0.0.2' },
  );
  assert.is(neighbour.status, 200);
});

test('the throttle covers /oauth/revoke and /oauth/introspect, form credentials too', async ({ server }) => {
  const machine = await basicClient(server, 'throttled-endpoints');
  const free = CLIENT_AUTH_THROTTLE.free;
  for (const [path, localAddress] of [
    ['/oauth/revoke', '127.0.0.3'],
    ['/oauth/introspect', '127.0.0.4'],
  ] as const) {
    const statuses: number[] = [];
    for (let attempt = 0; attempt <= free; attempt++)
      statuses.push(
        (await post(server, path, { token: 'x', client_id: machine.id, client_secret: 'guess' }, { localAddress }))
          .status,
      );
    assert.equal(statuses, [...Array(free).fill(401), 429], path);
    const right = await post(
      server,
      path,
      { token: 'x' },
      { authorization: basic(machine.id, machine.secret), localAddress: '127.0.0.1' },
    );
    assert.is(right.status, 200, path);
  }
});

test('right secrets never count: many good requests from one address are not throttled', async ({ server }) => {
  const machine = await basicClient(server, 'busy');
  const answers = await Promise.all(
    Array.from({ length: 3 * CLIENT_AUTH_THROTTLE.free }, () =>
      post(server, '/oauth/introspect', { token: 'x' }, { authorization: basic(machine.id, machine.secret) }),
    ),
  );
  assert.equal(
    answers.map((answer) => answer.status),
    Array(3 * CLIENT_AUTH_THROTTLE.free).fill(200),
  );
});

test.run();

const redisUp = await redisIsUp();
if (!redisUp) skipSuite('oauth: client authentication throttle on Redis', 'no Redis on 127.0.0.1:6379', 1);
else {
  const shared = twoInstancesOnRedis('oauth: client authentication throttle on Redis');
  shared('two instances count failures of one client_id from one address together', async ({ a, b }) => {
    // Failures for an unknown client count as well, so one made-up id serves both instances (fresh per
    // run, like the address: the Redis server outlives the test).
    const clientId = randomUUID();
    const address = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
    const attempt = (server: TestServer) =>
      fetch(`${server.base}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basic(clientId, 'guess'),
          'content-type': 'application/x-www-form-urlencoded',
          'x-forwarded-for': address,
        },
        body: 'grant_type=client_credentials',
      });
    const statuses: number[] = [];
    for (let i = 0; i <= CLIENT_AUTH_THROTTLE.free; i++) statuses.push((await attempt(i % 2 ? a : b)).status);
    assert.equal(statuses, [...Array(CLIENT_AUTH_THROTTLE.free).fill(401), 429]);
    const other = await attempt(a);
    assert.is(other.status, 429);
    assert.ok(Number(other.headers.get('retry-after')) > 0);
  });
  shared.run();
}
