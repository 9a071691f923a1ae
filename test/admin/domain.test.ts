// Pure parts of the admin area: the login guard and operations deciders, and audit redaction.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loginGuardDecider, loginGuardStream, type AdminLoginEvent } from '../../domain/admin/login-guard.ts';
import { operationDecider } from '../../domain/admin/operations.ts';
import type { Services } from '../../app/services.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { PAGE_SIZE, queryAudit, redact } from '../../http/admin/audit-query.ts';
import { eventActivity, logSize } from '../../http/admin/stats.ts';
import { specFor } from '../support/decider.ts';

const test = suite('admin: deciders and redaction');
const guard = specFor(loginGuardDecider);
const now = new Date('2026-01-01T00:00:00Z');
const until = new Date('2026-01-01T00:15:00Z');
const subject = { kind: 'account', value: 'ann@example.com' } as const;
const lockedOut: AdminLoginEvent = {
  type: 'AdminLoginLockedOut',
  data: { subject, email: 'ann@example.com', ip: '127.0.0.1', until: until.toISOString(), at: now.toISOString() },
};

test('a failed login is recorded with subject, ip and reason', () => {
  guard([])
    .when({
      type: 'RecordLoginFailure',
      subject,
      email: 'ann@example.com',
      ip: '127.0.0.1',
      reason: 'bad_credentials',
      now,
    })
    .then([
      {
        type: 'AdminLoginFailed',
        data: { subject, email: 'ann@example.com', ip: '127.0.0.1', reason: 'bad_credentials', at: now.toISOString() },
      },
    ]);
});

test('lock out → AdminLoginLockedOut; again within the same window → nothing; a later window → a new lockout', () => {
  guard([]).when({ type: 'LockOut', subject, email: 'ann@example.com', ip: '127.0.0.1', until, now }).then([lockedOut]);
  guard([lockedOut])
    .when({
      type: 'LockOut',
      subject,
      email: 'ann@example.com',
      ip: '127.0.0.1',
      until: new Date(until.getTime() - 1_000),
      now,
    })
    .then([]);
  const later = new Date(until.getTime() + 60_000);
  guard([lockedOut])
    .when({ type: 'LockOut', subject, email: 'ann@example.com', ip: '127.0.0.1', until: later, now })
    .then([{ type: 'AdminLoginLockedOut', data: { ...lockedOut.data, until: later.toISOString() } }]);
});

test('streams are per subject and do not reveal the email', () => {
  const stream = loginGuardStream(subject);
  assert.match(stream, /^admin-login-[0-9a-f]{32}$/);
  assert.is.not(stream, loginGuardStream({ kind: 'ip', value: 'ann@example.com' }));
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
  const services = { log } as unknown as Services;
  const byUser = await queryAudit(services, { user: 'ann@example.com' });
  assert.equal(
    byUser.rows.map((row) => row.event.type),
    ['GrantRevoked', 'GrantIssued'],
  );
  const byClient = await queryAudit(services, { client: 'c1' });
  assert.equal(
    byClient.rows.map((row) => row.event.type),
    ['GrantIssued'],
  );
  const stream = await queryAudit(services, { stream: 'grant-1' });
  assert.is(stream.rows.length, 2);
  const noise = await queryAudit(services, { type: 'Noise' });
  assert.is(noise.rows.length, PAGE_SIZE);
  assert.ok(noise.next);
  const rest = await queryAudit(services, { type: 'Noise', before: noise.next });
  assert.is(rest.rows.length, 3);
  assert.is(rest.next, undefined);
  assert.is(await eventActivity(services), undefined);
  assert.equal(await logSize(services), { kind: 'memory' });
});

test.run();
