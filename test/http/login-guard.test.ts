// Lockout as a weapon: the sign-in throttles slow the attacker, not the victim. The server trusts
// 127.0.0.1 as a proxy, so each test client speaks from the address it puts in X-Forwarded-For.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { RecordedEvent } from '../../eventstore/port.ts';
import { addressKey, backoffSeconds, LOGIN_THROTTLES } from '../../http/login-guard.ts';
import { CookieJar, csrfOf } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { skipSuite } from '../support/skip.ts';
import { authorizeUrl, Browser, formAction, pkce, publicClient, REDIRECT } from './oauth/support.ts';
import { redisIsUp, twoInstancesOnRedis } from '../support/redis.ts';

const test = suite<{ server: TestServer }>('http: sign-in throttles (per address and account, device cookie)');

const PLAIN = { email: 'plain@example.test', password: 'plain-password-1' };

test.before(async (context) => {
  context.server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
  await context.server.services.users.create(PLAIN, { type: 'system', id: 'test' });
});
test.after(async ({ server }) => server.stop());

type Reply = { status: number; text: string; headers: Headers };

/** A browser at one client address (behind the trusted proxy), with its own cookies. */
class Visitor extends CookieJar {
  constructor(
    readonly base: string,
    public address: string,
  ) {
    super();
  }

  private async send(path: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Reply> {
    const response = await fetch(`${this.base}${path}`, {
      ...init,
      redirect: 'manual',
      headers: { cookie: this.cookieHeader(), 'x-forwarded-for': this.address, ...init.headers },
    });
    this.remember(response);
    return { status: response.status, text: await response.text(), headers: response.headers };
  }

  /** POST /admin/login with the page's csrf; `accept` picks the page or problem+json. */
  async adminLogin(email: string, password: string, accept = 'text/html'): Promise<Reply> {
    const csrf = csrfOf((await this.send('/admin/login', { headers: { accept: 'text/html' } })).text);
    return this.send('/admin/login', {
      method: 'POST',
      headers: { accept, origin: this.base, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email, password, csrf }).toString(),
    });
  }

  hasDeviceCookie(): boolean {
    return this.cookies.has('rmcp_device');
  }

  forgetSession(): void {
    for (const name of [...this.cookies.keys()]) if (name !== 'rmcp_device') this.cookies.delete(name);
  }
}

/** The OAuth login form of a fresh authorization request, posted from `address` with `browser`'s cookies. */
const oauthLogin = async (
  server: TestServer,
  browser: Browser,
  address: string,
  email: string,
  password: string,
): Promise<Response> => {
  const client = await publicClient(server);
  const from = { 'x-forwarded-for': address };
  const start = await browser.get(
    authorizeUrl(server.base, {
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: REDIRECT,
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    }),
    from,
  );
  const location = start.headers.get('location') ?? '';
  assert.match(location, /\/oauth\/login/);
  const html = await (await browser.get(location, from)).text();
  return browser.post(formAction(html), { csrf: csrfOf(html), email, password }, { origin: server.base, ...from });
};

const guardEvents = async (server: TestServer): Promise<RecordedEvent[]> =>
  server.services.log.readStream('login-guard', { maxCount: 100_000 });

test('backoff doubles from 30 s after 5 failures of one address on one account, up to 15 min; IPv6 counts per /64', () => {
  const policy = LOGIN_THROTTLES.ip_account;
  assert.equal(
    [4, 5, 6, 7, 10, 20].map((n) => backoffSeconds(policy, n)),
    [0, 30, 60, 120, 900, 900],
  );
  assert.is(addressKey('2001:db8:1:2:aaaa::1'), addressKey('2001:db8:1:2:bbbb::2'));
  assert.is.not(addressKey('2001:db8:1:2::1'), addressKey('2001:db8:1:3::1'));
  assert.is(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
  assert.is(addressKey('2001:db8:1:2::1'), '2001:db8:1:2::/64');
});

test('6 wrong admin passwords from one address: that address waits (429), the real admin from another signs in', async ({
  server,
}) => {
  const attacker = new Visitor(server.base, '198.51.100.7');
  for (let i = 0; i < 5; i += 1) {
    const reply = await attacker.adminLogin(server.adminEmail, `wrong-${i}`);
    assert.is(reply.status, 401);
  }
  const sixth = await attacker.adminLogin(server.adminEmail, 'wrong-6', 'application/json');
  assert.is(sixth.status, 429);
  assert.is(JSON.parse(sixth.text).code, 'too_many_attempts');
  assert.ok(Number(sixth.headers.get('retry-after')) > 0);
  // The attacker holding the right password is still refused at that address (no device cookie).
  assert.is((await attacker.adminLogin(server.adminEmail, server.adminPassword)).status, 429);

  const admin = new Visitor(server.base, '203.0.113.5');
  const reply = await admin.adminLogin(server.adminEmail, server.adminPassword);
  assert.is(reply.status, 303);
  assert.ok(admin.hasDeviceCookie());
});

test('a parallel burst of 30 wrong passwords from one address gets 6 password checks, not 30', async ({ server }) => {
  const email = 'burst@example.test';
  await server.services.users.create({ email, password: 'burst-password-1' }, { type: 'system', id: 'test' });
  const before = (await guardEvents(server)).length;
  const replies = await Promise.all(
    Array.from({ length: 30 }, (_, i) => new Visitor(server.base, '198.51.100.9').adminLogin(email, `wrong-${i}`)),
  );
  const statuses = replies.map((reply) => reply.status);
  assert.is(statuses.filter((status) => status === 401).length, 6);
  assert.is(statuses.filter((status) => status === 429).length, 24);
  const failed = (await guardEvents(server)).slice(before).filter((event) => event.type === 'SignInFailed');
  assert.is(failed.length, 6);
});

test('20 made-up emails from one address slow that address only; no stream per email; the admin elsewhere signs in', async ({
  server,
}) => {
  const stuffer = new Visitor(server.base, '198.51.100.20');
  for (let i = 0; i < 20; i += 1) {
    const reply = await stuffer.adminLogin(`nobody-${i}@example.test`, 'guess-password');
    assert.is(reply.status, 401, `attempt ${i}`);
  }
  const blocked = await stuffer.adminLogin(server.adminEmail, server.adminPassword);
  assert.is(blocked.status, 429);
  assert.match(blocked.text, /Too many sign-in attempts/);
  // Everything went to the one bounded stream; made-up emails made no streams of their own.
  // The emails are sealed in the stored events (personal data): the failures are found by type.
  const streams = await server.services.db.query<{ stream_id: string }>(
    `SELECT DISTINCT stream_id FROM events WHERE event_type = 'SignInFailed'`,
  );
  assert.equal(
    streams.rows.map((row) => row.stream_id),
    ['login-guard'],
  );
  const meta = await server.services.log.getStreamMetadata('login-guard');
  assert.equal(meta, { maxAgeSeconds: 30 * 86_400, maxCount: 10_000 });
  const throttled = (await guardEvents(server)).filter(
    (event) => event.type === 'SignInThrottled' && (event.data as { scope: string }).scope === 'ip',
  );
  assert.is(throttled.length, 1);
  assert.is((throttled[0]!.data as { ip: string }).ip, '198.51.100.20');

  const elsewhere = new Visitor(server.base, '203.0.113.20');
  assert.is((await elsewhere.adminLogin(server.adminEmail, server.adminPassword)).status, 303);
  // The admin's browser, now with a device cookie, signs in even from the throttled address.
  elsewhere.forgetSession();
  elsewhere.address = '198.51.100.20';
  assert.is((await elsewhere.adminLogin(server.adminEmail, server.adminPassword)).status, 303);
});

test('device cookie: an account throttled for unknown devices still signs in from the browser that signed in before', async ({
  server,
}) => {
  // The victim signed in once (OAuth login) and keeps the device cookie.
  const victim = new Browser(server.base);
  const first = await oauthLogin(server, victim, '203.0.113.30', PLAIN.email, PLAIN.password);
  assert.is(first.status, 303);
  assert.ok(victim.cookies.has('rmcp_device'));
  victim.cookies.delete('rmcp_oauth');

  // An attacker fails from 10 addresses (one guess each, below every per-address limit): the account is
  // now throttled for unknown devices.
  for (let i = 0; i < 10; i += 1) {
    const reply = await new Visitor(server.base, `198.51.100.${100 + i}`).adminLogin(PLAIN.email, `guess-${i}`);
    assert.is(reply.status, 401);
  }
  const accountThrottles = (await guardEvents(server)).filter(
    (event) => event.type === 'SignInThrottled' && (event.data as { scope: string }).scope === 'account',
  );
  assert.is(accountThrottles.length, 1);

  // A browser without the cookie, from a fresh address, with the right password: the throttle page.
  const stranger = new Browser(server.base);
  const refused = await oauthLogin(server, stranger, '192.0.2.77', PLAIN.email, PLAIN.password);
  assert.is(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.match(await refused.text(), /Too many sign-in attempts/);
  assert.not.ok(stranger.cookies.has('rmcp_oauth'));

  // Nor from an address that tried this account before (its try was not counted there again).
  const returning = await oauthLogin(server, new Browser(server.base), '198.51.100.101', PLAIN.email, PLAIN.password);
  assert.is(returning.status, 429);

  // A forged device cookie is no device cookie.
  const forger = new Browser(server.base);
  forger.cookies.set(
    'rmcp_device',
    victim.cookies.get('rmcp_device')!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
  );
  assert.is((await oauthLogin(server, forger, '192.0.2.78', PLAIN.email, PLAIN.password)).status, 429);

  // The victim's browser, even from the attacker's address: signed in.
  const signedIn = await oauthLogin(server, victim, '198.51.100.100', PLAIN.email, PLAIN.password);
  assert.is(signedIn.status, 303);
  assert.match(signedIn.headers.get('location') ?? '', /\/oauth\/consent/);
  assert.ok(victim.cookies.has('rmcp_oauth'));
});

test("a device cookie of another account does not pass that account's throttle", async ({ server }) => {
  const email = 'other-victim@example.test';
  await server.services.users.create({ email, password: 'other-password-1' }, { type: 'system', id: 'test' });
  await server.services.users.create(
    { email: 'attacker@example.test', password: 'attacker-password-1' },
    { type: 'system', id: 'test' },
  );
  // The attacker's own account gives it a genuine device cookie…
  const own = new Browser(server.base);
  const ownLogin = await oauthLogin(server, own, '198.51.100.40', 'attacker@example.test', 'attacker-password-1');
  assert.is(ownLogin.status, 303);
  const attacker = new Visitor(server.base, '198.51.100.40');
  attacker.cookies.set('rmcp_device', own.cookies.get('rmcp_device')!);
  for (let i = 0; i < 5; i += 1) assert.is((await attacker.adminLogin(email, `guess-${i}`)).status, 401);
  // …which does not make it a known device for someone else's account.
  assert.is((await attacker.adminLogin(email, 'guess-6')).status, 429);
});

test("a non-admin's right password at /admin is a refusal (403), not a failed guess: nothing counted or recorded", async ({
  server,
}) => {
  const staff = { email: 'staff@example.test', password: 'staff-password-1' };
  await server.services.users.create(staff, { type: 'system', id: 'test' });
  const before = (await guardEvents(server)).length;
  const user = new Visitor(server.base, '203.0.113.50');
  for (let i = 0; i < 8; i += 1) {
    const reply = await user.adminLogin(staff.email, staff.password);
    assert.is(reply.status, 403);
    assert.match(reply.text, /not an administrator/);
  }
  assert.is((await guardEvents(server)).length, before);
  assert.not.ok(user.cookies.has('rmcp_admin'));
});

test('OAuth and admin share the counters: 5 OAuth failures, then /admin/login from that address waits', async ({
  server,
}) => {
  const email = 'shared@example.test';
  await server.services.users.create({ email, password: 'shared-password-1' }, { type: 'system', id: 'test' });
  for (let i = 0; i < 5; i += 1) {
    const reply = await oauthLogin(server, new Browser(server.base), '198.51.100.60', email, `wrong-${i}`);
    assert.is(reply.status, 401);
  }
  const via = (await guardEvents(server)).slice(-6).map((event) => (event.data as { via: string }).via);
  assert.equal(via, ['oauth', 'oauth', 'oauth', 'oauth', 'oauth', 'oauth']);
  const admin = await new Visitor(server.base, '198.51.100.60').adminLogin(email, 'shared-password-1');
  assert.is(admin.status, 429);
});

test.run();

const untrusted = suite<{ server: TestServer }>('http: X-Forwarded-For from an untrusted peer is ignored');

untrusted.before(async (context) => {
  // A proxy is configured, but the test client (127.0.0.1) is not it.
  context.server = await startTestServer({ TRUSTED_PROXIES: '10.9.9.9' });
});
untrusted.after(async ({ server }) => server.stop());

untrusted(
  'a new forged address on every try does not escape the throttle; events record the real peer',
  async ({ server }) => {
    for (let i = 0; i < 5; i += 1) {
      const reply = await new Visitor(server.base, `192.0.2.${i + 1}`).adminLogin(server.adminEmail, `wrong-${i}`);
      assert.is(reply.status, 401);
    }
    const sixth = await new Visitor(server.base, '192.0.2.99').adminLogin(server.adminEmail, server.adminPassword);
    assert.is(sixth.status, 429);
    const events = await guardEvents(server);
    assert.equal([...new Set(events.map((event) => (event.data as { ip: string }).ip))], ['127.0.0.1']);
  },
);

untrusted.run();

const redisUp = await redisIsUp();
if (!redisUp) skipSuite('http: sign-in throttles on Redis', 'no Redis on 127.0.0.1:6379', 1);
else {
  const shared = twoInstancesOnRedis('http: sign-in throttles on Redis');
  shared(
    'two instances count one address together; a parallel burst still gets 6 password checks',
    async ({ a, b }) => {
      const email = `victim-${randomUUID()}@example.test`;
      for (const server of [a, b])
        await server.services.users.create({ email, password: 'victim-password-1' }, { type: 'system', id: 'test' });
      const address = `198.51.100.${Math.floor(Math.random() * 200) + 20}`;
      const replies = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          new Visitor((i % 2 ? a : b).base, address).adminLogin(email, `wrong-${i}`),
        ),
      );
      assert.equal(replies.map((reply) => reply.status).sort(), [...Array(6).fill(401), ...Array(6).fill(429)]);
      // Either instance now refuses that address on that account, even with the right password…
      assert.is((await new Visitor(a.base, address).adminLogin(email, 'victim-password-1')).status, 429);
      // …while the same account from elsewhere gets past the throttle (403: the right password of a non-admin).
      assert.is((await new Visitor(b.base, '203.0.113.77').adminLogin(email, 'victim-password-1')).status, 403);
    },
  );
  shared.run();
}
