// The short user cache of tool calls: served from memory within its bound, dropped by a local append to
// a user stream, and never filled by a read that overlapped such an append or ran soon after one.
import { EventEmitter } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RECENT_USER_MS, RecentUsers } from '../../app/recent-users.ts';

type Row = { id: string; roles: string[] };
const test = suite('app: RecentUsers');

const fixture = () => {
  const appends = new EventEmitter();
  const rows = new Map<string, Row>([['u1', { id: 'u1', roles: ['admin'] }]]);
  let reads = 0;
  let gate: Promise<void> | undefined;
  const cache = new RecentUsers<Row>(async (id) => {
    reads += 1;
    const row = rows.get(id);
    await gate;
    return row && { ...row };
  }, appends);
  return {
    appends,
    rows,
    cache,
    reads: () => reads,
    hold: () => {
      let open!: () => void;
      gate = new Promise<void>((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
  };
};

test('a second lookup within the bound reads nothing; after the bound it reads again', async () => {
  const f = fixture();
  assert.equal((await f.cache.get('u1'))?.roles, ['admin']);
  assert.equal((await f.cache.get('u1'))?.roles, ['admin']);
  assert.is(f.reads(), 1);
  await new Promise((resolve) => setTimeout(resolve, RECENT_USER_MS + 20));
  f.rows.set('u1', { id: 'u1', roles: ['user'] });
  assert.equal((await f.cache.get('u1'))?.roles, ['user']);
  assert.is(f.reads(), 2);
});

test('a local append to a user stream drops the row and stops caching for a while', async () => {
  const f = fixture();
  await f.cache.get('u1');
  f.rows.set('u1', { id: 'u1', roles: ['user'] });
  f.appends.emit('append', 'user-u1', []);
  assert.equal((await f.cache.get('u1'))?.roles, ['user']);
  // Not kept: the read model may still have been behind the append.
  await f.cache.get('u1');
  assert.is(f.reads(), 3);
});

test('appends to other streams leave the cache alone', async () => {
  const f = fixture();
  await f.cache.get('u1');
  f.appends.emit('append', 'audit-tools-u1', []);
  f.appends.emit('append', 'mcp-messages-x', []);
  await f.cache.get('u1');
  assert.is(f.reads(), 1);
});

test('a read that overlapped a user append is not kept', async () => {
  const f = fixture();
  const release = f.hold();
  const pending = f.cache.get('u1');
  f.appends.emit('append', 'user-u1', []);
  release();
  assert.equal((await pending)?.roles, ['admin']);
  f.rows.set('u1', { id: 'u1', roles: ['user'] });
  assert.equal((await f.cache.get('u1'))?.roles, ['user']);
  assert.is(f.reads(), 2);
});

test('lookups that miss together share one read; one after a user append does not join it', async () => {
  const f = fixture();
  const release = f.hold();
  const first = [f.cache.get('u1'), f.cache.get('u1'), f.cache.get('u1')];
  assert.is(f.reads(), 1);
  f.rows.set('u1', { id: 'u1', roles: ['user'] });
  f.appends.emit('append', 'user-u1', []);
  const after = f.cache.get('u1');
  assert.is(f.reads(), 2);
  release();
  assert.equal((await after)?.roles, ['user']);
  for (const row of await Promise.all(first)) assert.equal(row?.roles, ['admin']);
});

test('an unknown user is cached as unknown within the bound, like a known one', async () => {
  const f = fixture();
  assert.is(await f.cache.get('nobody'), undefined);
  assert.is(await f.cache.get('nobody'), undefined);
  assert.is(f.reads(), 1);
});

test.run();
