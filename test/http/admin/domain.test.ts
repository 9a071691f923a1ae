// Pure parts of the admin area: the login guard's events, the operations decider, and audit redaction.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AdminLoginEvent,
  LOGIN_GUARD_RETENTION,
  LOGIN_GUARD_STREAM,
  signInFailed,
  signInThrottled,
  storableText,
} from '../../../domain/admin/login-guard.ts';
import { operationDecider } from '../../../domain/admin/operations.ts';
import { MemoryEventLog } from '../../../eventstore/memory.ts';
import { PAGE_SIZE, queryAudit, redact } from '../../../http/admin/audit-query.ts';
import { eventActivity, logSize } from '../../../http/admin/stats.ts';
import { specFor } from '../../support/decider.ts';

const test = suite('admin: deciders and redaction');
const now = new Date('2026-01-01T00:00:00Z');
const until = new Date('2026-01-01T00:15:00Z');

test('a failed sign-in is one event of the fixed login-guard stream: email normalized, bounded, storable', () => {
  assert.is(LOGIN_GUARD_STREAM, 'login-guard');
  assert.equal(LOGIN_GUARD_RETENTION, { maxCount: 10_000, maxAgeSeconds: 30 * 86_400 });
  assert.equal(
    signInFailed({
      email: ' Ann@Example.COM ',
      ip: '192.0.2.1',
      via: 'oauth',
      reason: 'bad_credentials',
      device: false,
      at: now,
    }),
    {
      type: 'SignInFailed',
      data: {
        email: 'ann@example.com',
        ip: '192.0.2.1',
        via: 'oauth',
        reason: 'bad_credentials',
        device: false,
        at: now.toISOString(),
      },
    },
  );
  const hostile = signInFailed({
    email: `a\u0000b\uD800c${'x'.repeat(5_000)}`,
    ip: '::1',
    via: 'admin',
    reason: 'bad_credentials',
    device: true,
    at: now,
  });
  assert.is(hostile.type === 'SignInFailed' && hostile.data.email.length, 320);
  assert.ok(hostile.type === 'SignInFailed' && hostile.data.email.startsWith('a\uFFFDb\uFFFDc'));
  assert.is(storableText('ok \uD83D\uDE00', 10), 'ok \uD83D\uDE00');
});

test('a throttle records its scope, failures and end', () => {
  assert.equal(
    signInThrottled({
      scope: 'ip_account',
      email: 'ann@example.com',
      ip: '192.0.2.1',
      via: 'admin',
      failures: 5,
      until,
      at: now,
    }),
    {
      type: 'SignInThrottled',
      data: {
        scope: 'ip_account',
        email: 'ann@example.com',
        ip: '192.0.2.1',
        via: 'admin',
        failures: 5,
        until: until.toISOString(),
        at: now.toISOString(),
      },
    },
  );
});

test('events of earlier versions (admin-login-<hash> streams) still parse', () => {
  const subject = { kind: 'account', value: 'ann@example.com' } as const;
  const at = now.toISOString();
  for (const event of [
    {
      type: 'AdminLoginFailed',
      data: { subject, email: 'ann@example.com', ip: '127.0.0.1', reason: 'bad_credentials', at },
    },
    {
      type: 'AdminLoginLockedOut',
      data: { subject, email: 'ann@example.com', ip: '127.0.0.1', until: until.toISOString(), at },
    },
  ])
    assert.equal(AdminLoginEvent.parse(event), event);
});

test('a rebuild request names a known projection', () => {
  const ops = specFor(operationDecider);
  ops([])
    .when({ type: 'RequestRebuild', projection: 'users', known: ['users'], now })
    .then([{ type: 'ProjectionRebuildRequested', data: { projection: 'users', at: now.toISOString() } }]);
  ops([])
    .when({ type: 'RequestRebuild', projection: 'nope', known: ['users'], now })
    .thenFails('projection_not_found');
});

test('redaction hides secrets, hashes and token material at any depth, keeps ids', () => {
  const input = {
    secret: 's',
    passwordHash: 'h',
    clientId: 'c',
    tokenId: 't',
    nested: [{ accessToken: 'a', refreshTokenHash: 'r', code: 'x', name: 'n' }],
  };
  assert.equal(redact(input), {
    secret: '[redacted]',
    passwordHash: '[redacted]',
    clientId: 'c',
    tokenId: 't',
    nested: [{ accessToken: '[redacted]', refreshTokenHash: '[redacted]', code: '[redacted]', name: 'n' }],
  });
});

test('a log that is not PostgreSQL (EventStoreDB, memory): the audit scan filters and pages; charts say unavailable', async () => {
  const log = new MemoryEventLog();
  const actor = { type: 'user', id: 'u1', email: 'ann@example.com' };
  await log.append('grant-1', [{ type: 'GrantIssued', data: { clientId: 'c1' }, metadata: { actor } }]);
  await log.append(
    'other',
    Array.from({ length: PAGE_SIZE + 3 }, (_, i) => ({
      type: 'Noise',
      data: { i },
      metadata: { actor: { type: 'system', id: 's' } },
    })),
  );
  await log.append('grant-1', [{ type: 'GrantRevoked', data: {}, metadata: { actor } }], { expectedVersion: 0n });
  const byUser = await queryAudit({ log }, { user: 'ann@example.com' });
  assert.equal(
    byUser.rows.map((row) => row.event.type),
    ['GrantRevoked', 'GrantIssued'],
  );
  const byClient = await queryAudit({ log }, { client: 'c1' });
  assert.equal(
    byClient.rows.map((row) => row.event.type),
    ['GrantIssued'],
  );
  const stream = await queryAudit({ log }, { stream: 'grant-1' });
  assert.is(stream.rows.length, 2);
  const noise = await queryAudit({ log }, { type: 'Noise' });
  assert.is(noise.rows.length, PAGE_SIZE);
  assert.ok(noise.next);
  const rest = await queryAudit({ log }, { type: 'Noise', before: noise.next });
  assert.is(rest.rows.length, 3);
  assert.is(rest.next, undefined);
  assert.is(await eventActivity({ log }), undefined);
  assert.equal(await logSize({ log }), { kind: 'memory' });
});

test.run();
