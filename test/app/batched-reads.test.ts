// app/batched-reads.ts: keys asked together share one read; a key asked while a read is in flight gets a
// read of its own that starts after it asked (never the older answer); a failed read fails its callers only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BatchedReads } from '../../app/batched-reads.ts';
import { rejects } from '../support/assertions.ts';

const test = suite('app/batched-reads');

/** A store whose reads are released by hand, recording the keys of each. */
const store = () => {
  const values = new Map<string, number>([
    ['a', 1],
    ['b', 2],
  ]);
  const reads: string[][] = [];
  const gates: (() => void)[] = [];
  const readMany = async (keys: string[]) => {
    reads.push(keys);
    // The answer is what the store holds when the read runs, as a database read would be.
    const found = new Map(keys.flatMap((key) => (values.has(key) ? [[key, values.get(key)!] as const] : [])));
    await new Promise<void>((resolve) => gates.push(resolve));
    return found;
  };
  return { values, reads, gates, readMany };
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('keys asked in one turn share one read; a missing key is undefined', async () => {
  const { reads, gates, readMany } = store();
  const batched = new BatchedReads(readMany);
  const asked = Promise.all([batched.get('a'), batched.get('b'), batched.get('a'), batched.get('zz')]);
  await settle();
  gates.shift()!();
  assert.equal(await asked, [1, 2, 1, undefined]);
  assert.equal(reads, [['a', 'b', 'zz']]);
  assert.equal(batched.stats, { reads: 1, keys: 3 });
});

test('a key asked while a read is in flight waits for the next read, which sees the newer value', async () => {
  const { values, reads, gates, readMany } = store();
  const batched = new BatchedReads(readMany);
  const first = batched.get('a');
  await settle();
  // Changed after the first read ran: a caller asking now must see the change.
  values.set('a', 10);
  const second = batched.get('a');
  const third = batched.get('b');
  gates.shift()!();
  assert.is(await first, 1);
  await settle();
  gates.shift()!();
  assert.equal(await Promise.all([second, third]), [10, 2]);
  assert.equal(reads, [['a'], ['a', 'b']]);
});

test('a failed read rejects its own callers; the next read is unaffected', async () => {
  let fail = true;
  const batched = new BatchedReads<number>(async (keys) => {
    if (fail) {
      fail = false;
      throw new Error('connection lost');
    }
    return new Map(keys.map((key) => [key, key.length]));
  });
  const failed = batched.get('abc');
  assert.match((await rejects(failed, Error)).message, /connection lost/);
  assert.is(await batched.get('abcd'), 4);
});

test('a backlog larger than the bound goes out in several reads', async () => {
  const reads: number[] = [];
  const batched = new BatchedReads<string>(async (keys) => {
    reads.push(keys.length);
    return new Map(keys.map((key) => [key, key]));
  }, 2);
  const values = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => batched.get(key)));
  assert.equal(values, ['a', 'b', 'c', 'd', 'e']);
  assert.equal(reads, [2, 2, 1]);
});

test.run();
