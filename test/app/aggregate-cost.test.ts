// The work of one command must not grow with its stream's history: a grant refreshed every ten minutes
// for a year has ~50,000 events. Counted through a wrapped EventLog (events read) and a wrapped decider
// (events folded), after thousands of real commands, on the memory log and on PostgreSQL.
import { randomUUID } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handleCommand } from '../../app/handle.ts';
import {
  SNAPSHOT_EVERY,
  grantDecider,
  grantStream,
  type GrantCommand,
  type GrantEvent,
} from '../../domain/grants/index.ts';
import {
  GRAPH_SNAPSHOT_EVERY,
  graphDecider,
  graphStream,
  noteDecider,
  noteStream,
  type GraphCommand,
} from '../../domain/memory/index.ts';
import type { Decider, DomainEvent } from '../../domain/shared.ts';
import { LOGIN_GUARD_RETENTION, LOGIN_GUARD_STREAM } from '../../domain/admin/login-guard.ts';
import { LoginAudit } from '../../app/login-guard.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { PostgresEventLog } from '../../eventstore/postgres.ts';
import type { EventLog } from '../../eventstore/port.ts';
import { anyDatabase } from '../support/databases.ts';

type Counters = { read: number; folded: number };

/** The log and decider as handle.ts sees them, counting rows read and events folded. */
const counting = <C, E extends DomainEvent, S>(log: EventLog, decider: Decider<C, E, S>, counters: Counters) => {
  const wrapped = new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'readStream')
        return async (...args: Parameters<EventLog['readStream']>) => {
          const events = await target.readStream(...args);
          counters.read += events.length;
          return events;
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const measured: Decider<C, E, S> = {
    ...decider,
    evolve: (state, event) => {
      counters.folded += 1;
      return decider.evolve(state, event);
    },
  };
  return { log: wrapped, decider: measured };
};

const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const actor = { type: 'client' as const, id: 'c1' };
const tokens = (n: number) => ({
  accessTokenId: `a${n}`,
  accessExpiresAt: at(n * 1_000 + 600_000).toISOString(),
  refreshHash: `r${n}#`,
  refreshExpiresAt: at(n * 1_000 + 30 * 86_400_000).toISOString(),
});
const refresh = (n: number): GrantCommand => ({
  type: 'Refresh',
  refreshHash: `r${n - 1}#`,
  clientId: 'c1',
  scopes: undefined,
  resource: undefined,
  tokens: tokens(n),
  graceMs: 30_000,
  now: at(n * 1_000),
});

/** A grant issued through the real commands, its token `r1#` redeemed. */
const issuedGrant = async (log: EventLog): Promise<string> => {
  const grantId = randomUUID();
  const request = {
    grantId,
    clientId: 'c1',
    redirectUri: 'https://app.example/cb',
    scopes: ['mcp:tools:read'],
    resource: 'https://as.example/mcp',
    codeChallenge: 'ch',
    requestedAt: t0,
    expiresAt: at(600_000),
  };
  const approve: GrantCommand = {
    type: 'Approve',
    request,
    userId: 'u1',
    authTime: t0,
    codeHash: 'code#',
    codeExpiresAt: at(60_000),
    remembered: false,
    now: t0,
  };
  await handleCommand(log, grantStream(grantId), grantDecider, approve, { actor });
  const redeem: GrantCommand = {
    type: 'RedeemCode',
    codeHash: 'code#',
    clientId: 'c1',
    redirectUri: undefined,
    verifierChallenge: 'ch',
    resource: undefined,
    tokens: tokens(1),
    now: at(1_000),
  };
  await handleCommand(log, grantStream(grantId), grantDecider, redeem, { actor });
  return grantId;
};

const ROTATIONS = 3_000;
/** One backward page: the snapshot interval plus the events of the command that carried the snapshot. */
const BOUND = SNAPSHOT_EVERY + 16;

// Real commands on PostgreSQL commit one by one (fsync): fewer of them there, and the history of
// thousands is appended in bulk by the second test.
const stores: [string, number, () => Promise<{ log: EventLog; dispose(): Promise<void> }>][] = [
  ['memory', ROTATIONS, async () => ({ log: new MemoryEventLog(), dispose: async () => undefined })],
  [
    'PostgreSQL',
    300,
    async () => {
      const database = await anyDatabase();
      const log = new PostgresEventLog(database.db, { pollMs: 100 });
      return {
        log,
        async dispose() {
          await log.close();
          await database.dispose();
        },
      };
    },
  ],
];

for (const [name, commands, open] of stores) {
  const test = suite(`app: the cost of a command does not grow with its stream (${name})`);

  test(`grant: one refresh after ${commands} rotations reads and folds at most ${BOUND} events`, async () => {
    const { log, dispose } = await open();
    try {
      const grantId = await issuedGrant(log);
      const counters: Counters = { read: 0, folded: 0 };
      const measured = counting(log, grantDecider, counters);
      const work: Counters[] = [];
      for (let n = 2; n <= commands + 2; n += 1) {
        counters.read = 0;
        counters.folded = 0;
        const result = await handleCommand(measured.log, grantStream(grantId), measured.decider, refresh(n), {
          actor,
        });
        assert.is(result.events[0]!.type, 'RefreshTokenRotated');
        work.push({ ...counters });
      }
      const last = work.at(-1)!;
      assert.ok(last.read <= BOUND, `read ${last.read} events`);
      assert.ok(last.folded <= BOUND, `folded ${last.folded} events`);
      assert.ok(Math.max(...work.map((w) => w.read)) <= BOUND);
      // Nothing left the history: every rotation is still in the stream, beside the snapshots.
      const all = await log.readStream(grantStream(grantId), { maxCount: 100_000 });
      assert.is(all.filter((event) => event.type === 'RefreshTokenRotated').length, commands + 1);
      assert.ok(all.filter((event) => event.type === 'GrantSnapshotted').length >= commands / SNAPSHOT_EVERY - 1);
    } finally {
      await dispose();
    }
  });

  test('grant written before snapshots: the first command folds it once and writes one; the next is bounded', async () => {
    const { log, dispose } = await open();
    try {
      const grantId = await issuedGrant(log);
      // History as the previous release wrote it: rotations with no snapshot between them.
      const rotated: GrantEvent[] = Array.from({ length: ROTATIONS }, (_, index) => {
        const n = index + 2;
        return {
          type: 'RefreshTokenRotated',
          data: {
            grantId,
            clientId: 'c1',
            userId: 'u1',
            resource: 'https://as.example/mcp',
            previousHash: `r${n - 1}#`,
            tokens: { ...tokens(n), scopes: ['mcp:tools:read'] },
            at: at(n * 1_000).toISOString(),
          },
        };
      });
      await log.append(grantStream(grantId), rotated);
      const counters: Counters = { read: 0, folded: 0 };
      const measured = counting(log, grantDecider, counters);
      const first = await handleCommand(measured.log, grantStream(grantId), measured.decider, refresh(ROTATIONS + 2), {
        actor,
      });
      assert.equal(
        first.events.map((event) => event.type),
        ['RefreshTokenRotated'],
      );
      assert.ok(counters.read > ROTATIONS);
      const [newest] = await log.readStream(grantStream(grantId), { backwards: true, maxCount: 1 });
      assert.is(newest!.type, 'GrantSnapshotted');
      counters.read = 0;
      counters.folded = 0;
      await handleCommand(measured.log, grantStream(grantId), measured.decider, refresh(ROTATIONS + 3), { actor });
      assert.ok(counters.read <= BOUND, `read ${counters.read} events`);
      assert.ok(counters.folded <= BOUND, `folded ${counters.folded} events`);
    } finally {
      await dispose();
    }
  });

  test('client_credentials: a grant made for the request is decided without reading; a taken id is read and refused', async () => {
    const { log, dispose } = await open();
    try {
      const counters: Counters = { read: 0, folded: 0 };
      const measured = counting(log, grantDecider, counters);
      const issue = (grantId: string): GrantCommand => ({
        type: 'IssueClientCredentials',
        grantId,
        clientId: 'machine',
        userId: 'svc',
        scopes: ['mcp:tools:read'],
        resource: 'https://as.example/mcp',
        tokens: { accessTokenId: `${grantId}.a`, accessExpiresAt: at(600_000).toISOString() },
        now: t0,
      });
      const grantId = randomUUID();
      const context = { actor, newStream: true };
      const issued = await handleCommand(measured.log, grantStream(grantId), measured.decider, issue(grantId), context);
      assert.equal(
        issued.events.map((event) => event.type),
        ['ClientCredentialsIssued'],
      );
      assert.equal(counters, { read: 0, folded: 1 });
      // The same id again (it cannot happen with random ids, but the append's no_stream still guards it):
      // the conflict makes the command read the stream, and the decider refuses.
      counters.read = 0;
      const again = await handleCommand(
        measured.log,
        grantStream(grantId),
        measured.decider,
        issue(grantId),
        context,
      ).then(
        () => 'appended',
        (error: { code?: string }) => error.code,
      );
      assert.is(again, 'grant_exists');
      assert.is(counters.read, 1);
      assert.is((await log.readStream(grantStream(grantId))).length, 1);
    } finally {
      await dispose();
    }
  });

  test(`admin sign-in guard: ${commands} failed sign-ins read nothing, and the stream stays within its retention`, async () => {
    const { log, dispose } = await open();
    try {
      const counters: Counters = { read: 0, folded: 0 };
      const audit = new LoginAudit(counting(log, grantDecider, counters).log);
      for (let n = 0; n < commands; n += 1)
        await audit.signInFailed({
          email: `guess${n}@example.com`,
          ip: '203.0.113.9',
          via: 'admin',
          reason: 'unknown_account',
          device: false,
          at: at(n),
        });
      // Each failure is one append with no version check: the stream is never read to record one.
      assert.equal(counters, { read: 0, folded: 0 });
      assert.equal(await log.getStreamMetadata(LOGIN_GUARD_STREAM), LOGIN_GUARD_RETENTION);
      const kept = await log.readStream(LOGIN_GUARD_STREAM, { maxCount: 100_000 });
      assert.is(kept.length, Math.min(commands, LOGIN_GUARD_RETENTION.maxCount));
    } finally {
      await dispose();
    }
  });

  test(`memory graph: one write after ${commands} writes reads and folds a bounded tail`, async () => {
    const { log, dispose } = await open();
    try {
      const userId = randomUUID();
      const write = (n: number): GraphCommand =>
        n === 0
          ? {
              type: 'CreateEntities',
              userId,
              entities: [{ name: 'project', entityType: 'topic', observations: [] }],
              now: t0,
            }
          : // Churn, as an assistant keeps notes: add a fact, later drop it; the graph stays small.
            n % 2 === 1
            ? {
                type: 'AddObservations',
                userId,
                additions: [{ entityName: 'project', contents: [`fact ${n}`] }],
                now: t0,
              }
            : {
                type: 'DeleteObservations',
                userId,
                deletions: [{ entityName: 'project', observations: [`fact ${n - 1}`] }],
                now: t0,
              };
      const counters: Counters = { read: 0, folded: 0 };
      const measured = counting(log, graphDecider, counters);
      for (let n = 0; n <= commands + 1; n += 1) {
        counters.read = 0;
        counters.folded = 0;
        const result = await handleCommand(measured.log, graphStream(userId), measured.decider, write(n), { actor });
        assert.is(result.events.length, 1);
      }
      const bound = GRAPH_SNAPSHOT_EVERY + 16;
      assert.ok(counters.read <= bound, `read ${counters.read} events`);
      assert.ok(counters.folded <= bound, `folded ${counters.folded} events`);
    } finally {
      await dispose();
    }
  });

  test(`memory note: one edit after ${commands} edits reads one short page and folds its newest event`, async () => {
    const { log, dispose } = await open();
    try {
      const noteId = randomUUID();
      const base = { noteId, userId: 'u1', now: t0 };
      await handleCommand(
        log,
        noteStream(noteId),
        noteDecider,
        { type: 'StoreNote', ...base, title: 'todo', content: 'v0', tags: [] },
        { actor },
      );
      const counters: Counters = { read: 0, folded: 0 };
      const measured = counting(log, noteDecider, counters);
      for (let n = 1; n <= commands + 1; n += 1) {
        counters.read = 0;
        counters.folded = 0;
        const result = await handleCommand(
          measured.log,
          noteStream(noteId),
          measured.decider,
          { type: 'UpdateNote', ...base, content: `v${n}` },
          { actor },
        );
        assert.equal(
          result.events.map((event) => event.type),
          ['MemoryUpdated'],
        );
      }
      assert.ok(counters.read <= 16, `read ${counters.read} events`);
      // The newest event, then the one the command decided.
      assert.is(counters.folded, 2);
      assert.is((await log.readStream(noteStream(noteId), { maxCount: 100_000 })).length, commands + 2);
    } finally {
      await dispose();
    }
  });

  test.run();
}
