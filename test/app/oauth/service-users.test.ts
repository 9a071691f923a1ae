// app/oauth/service-users.ts: client_credentials asks whether a machine client's user may still get
// tokens. The answer is kept briefly, but a disable made through this process ends it at once, and a
// read that overlapped such a change is not kept.
import { EventEmitter } from 'node:events';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { handleCommand } from '../../../app/handle.ts';
import { ServiceUsers } from '../../../app/oauth/service-users.ts';
import { userDecider, userStream, type Role, type UserCommand } from '../../../domain/users/index.ts';
import { MemoryEventLog } from '../../../eventstore/memory.ts';
import type { EventLog, NewEvent } from '../../../eventstore/port.ts';

const actor = { type: 'system', id: 'test' } as const;
const BOT = '00000000-0000-4000-8000-000000000001';
const PERSON = '00000000-0000-4000-8000-000000000002';

/** The memory log as the server wraps it: local appends are announced; stream reads are counted. */
const setUp = () => {
  const raw = new MemoryEventLog();
  const appends = new EventEmitter();
  const reads = { count: 0 };
  const log = new Proxy(raw, {
    get(target, property, receiver) {
      if (property === 'append')
        return async (stream: string, events: readonly NewEvent[], options?: Parameters<EventLog['append']>[2]) => {
          const result = await target.append(stream, events, options);
          appends.emit('append', stream, events);
          return result;
        };
      if (property === 'readStream')
        return (...args: Parameters<EventLog['readStream']>) => {
          reads.count += 1;
          return target.readStream(...args);
        };
      return Reflect.get(target, property, receiver);
    },
  });
  const run = (userId: string, command: UserCommand) =>
    handleCommand(log, userStream(userId), userDecider, command, { actor });
  const create = (userId: string, roles: Role[]) =>
    run(userId, {
      type: 'CreateUser',
      userId,
      email: `${userId}@example.test`,
      name: 'n',
      passwordHash: roles.includes('service') ? '' : 'argon2-hash-of-a-person',
      roles,
      now: new Date(),
    });
  return { raw, log, appends, reads, run, create, users: new ServiceUsers({ log, appends }) };
};

const test = suite('app/oauth: service users for client_credentials');

test('an active service user may; the answer is kept, so the next token request reads nothing', async () => {
  const { users, create, reads } = setUp();
  await create(BOT, ['service']);
  assert.is(await users.mayUseClientCredentials(BOT), true);
  const before = reads.count;
  assert.is(await users.mayUseClientCredentials(BOT), true);
  assert.is(reads.count, before);
});

test('requests that miss together share one read of the stream', async () => {
  const { users, create, reads } = setUp();
  await create(BOT, ['service']);
  const before = reads.count;
  const answers = await Promise.all(Array.from({ length: 10 }, () => users.mayUseClientCredentials(BOT)));
  assert.equal(answers, Array(10).fill(true));
  assert.is(reads.count, before + 1);
});

test('a disable through this process ends it at once, within the cache time', async () => {
  const { users, create, run } = setUp();
  users.cacheMs = 60_000;
  await create(BOT, ['service']);
  assert.is(await users.mayUseClientCredentials(BOT), true);
  await run(BOT, { type: 'DisableUser', now: new Date() });
  assert.is(await users.mayUseClientCredentials(BOT), false);
});

test('a read that overlapped a local change is not kept', async () => {
  const { users, create, run } = setUp();
  users.cacheMs = 60_000;
  await create(BOT, ['service']);
  // The read starts, then the disable lands before it returns: its answer must not be kept.
  const reading = users.mayUseClientCredentials(BOT);
  await run(BOT, { type: 'DisableUser', now: new Date() });
  await reading;
  assert.is(await users.mayUseClientCredentials(BOT), false);
});

test("another instance's change is seen once the entry is older than cacheMs", async () => {
  const { users, create, raw } = setUp();
  await create(BOT, ['service']);
  assert.is(await users.mayUseClientCredentials(BOT), true);
  // Written around this process (another instance): no local announcement.
  await raw.append(userStream(BOT), [{ type: 'UserDisabled', data: { userId: BOT, at: new Date().toISOString() } }]);
  users.cacheMs = 0;
  assert.is(await users.mayUseClientCredentials(BOT), false);
});

test('a person, an unknown user and a disabled service user may not', async () => {
  const { users, create, run } = setUp();
  await create(PERSON, ['user']);
  await create(BOT, ['service']);
  await run(BOT, { type: 'DisableUser', now: new Date() });
  assert.is(await users.mayUseClientCredentials(PERSON), false);
  assert.is(await users.mayUseClientCredentials('00000000-0000-4000-8000-00000000000f'), false);
  assert.is(await users.mayUseClientCredentials(BOT), false);
});

test.run();
