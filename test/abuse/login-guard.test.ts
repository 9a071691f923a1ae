// Failed sign-ins under load: they all go to the one bounded `login-guard` stream (no stream per typed
// email or address), each costs well under a kilobyte, the stream's retention caps it, and the real
// admin signs in meanwhile. Loopback only, bounded counts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LoginAudit } from '../../app/login-guard.ts';
import { LOGIN_GUARD_RETENTION, LOGIN_GUARD_STREAM } from '../../domain/admin/login-guard.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { csrfOf } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const test = suite<{ server: TestServer }>('abuse: failed sign-ins stay bounded');

test.before(async (context) => {
  context.server = await startTestServer({ TRUSTED_PROXIES: '127.0.0.1' });
});
test.after(async ({ server }) => server.stop());

/** POST /admin/login from `address` (behind the trusted proxy) with a fresh csrf cookie. */
const adminLogin = async (server: TestServer, address: string, email: string, password: string) => {
  const page = await fetch(`${server.base}/admin/login`, { headers: { 'x-forwarded-for': address } });
  const cookie = page.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
  const response = await fetch(`${server.base}/admin/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'x-forwarded-for': address,
      origin: server.base,
      cookie,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ email, password, csrf: csrfOf(await page.text()) }).toString(),
  });
  await response.arrayBuffer();
  return response.status;
};

const ATTEMPTS = 60;
const PARALLEL = 6;

test(`${ATTEMPTS} made-up emails from ${ATTEMPTS} addresses: one stream, < 1 KB each, the admin signs in meanwhile`, async ({
  server,
}) => {
  const { db } = server.services;
  const streamsBefore = Number(
    (await db.query<{ n: string }>('SELECT count(*)::text AS n FROM event_streams')).rows[0]!.n,
  );
  const positionBefore = (
    await db.query<{ p: string }>('SELECT coalesce(max(global_position), 0)::text AS p FROM events')
  ).rows[0]!.p;
  let next = 0;
  const statuses: number[] = [];
  const attacker = async () => {
    while (next < ATTEMPTS) {
      const i = next++;
      const filler = 'x'.repeat(200);
      statuses.push(
        await adminLogin(server, `198.18.${i >> 8}.${i & 255}`, `made-up-${i}-${filler}@example.test`, 'guess'),
      );
    }
  };
  const [adminStatus] = await Promise.all([
    adminLogin(server, '203.0.113.200', server.adminEmail, server.adminPassword),
    ...Array.from({ length: PARALLEL }, attacker),
  ]);
  assert.is(adminStatus, 303);
  assert.equal(
    statuses.filter((status) => status !== 401),
    [],
  );
  const streamsAfter = Number(
    (await db.query<{ n: string }>('SELECT count(*)::text AS n FROM event_streams')).rows[0]!.n,
  );
  // At most the login-guard stream itself, plus the admin's browser session.
  assert.ok(streamsAfter - streamsBefore <= 2, `${streamsAfter - streamsBefore} new streams`);
  // The emails are sealed in the stored events (personal data), so the failures are found by stream and
  // position; the byte count is of what is really stored.
  const written = await db.query<{ stream_id: string; n: string; bytes: string }>(
    `SELECT stream_id, count(*)::text AS n, sum(octet_length(data::text) + octet_length(metadata::text))::text AS bytes
       FROM events WHERE global_position > $1 AND event_type = 'SignInFailed' GROUP BY stream_id`,
    [positionBefore],
  );
  assert.equal(
    written.rows.map((row) => [row.stream_id, Number(row.n)]),
    [[LOGIN_GUARD_STREAM, ATTEMPTS]],
  );
  const perFailure = Number(written.rows[0]!.bytes) / ATTEMPTS;
  assert.ok(perFailure < 1_024, `${Math.round(perFailure)} bytes per failed sign-in`);
});

test('the stream keeps the newest 10,000 events of 30 days and no more', async () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const log = new MemoryEventLog(() => now);
  const audit = new LoginAudit(log);
  const extra = 25;
  for (let i = 0; i < LOGIN_GUARD_RETENTION.maxCount + extra; i += 1)
    await audit.signInFailed({
      email: `made-up-${i}@example.test`,
      ip: '198.18.0.1',
      via: 'admin',
      reason: 'bad_credentials',
      device: false,
      at: now,
    });
  const kept = await log.readStream(LOGIN_GUARD_STREAM);
  assert.is(kept.length, LOGIN_GUARD_RETENTION.maxCount);
  assert.match(JSON.stringify(kept[0]!.data), new RegExp(`made-up-${extra}@`));
  assert.is(await log.scavenge(), extra);
  now = new Date(now.getTime() + (LOGIN_GUARD_RETENTION.maxAgeSeconds + 60) * 1_000);
  assert.is((await log.readStream(LOGIN_GUARD_STREAM)).length, 0);
});

test.run();
