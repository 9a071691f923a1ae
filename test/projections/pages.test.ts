import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { GlobalPosition, RecordedEvent } from '../../eventstore/port.ts';
import { SharedPages } from '../../projections/pages.ts';

const test = suite('projections: pages shared by a rebuild’s projections');

/** A log of `total` events read in pages of `size`; counts the reads. */
const fakeLog = (total: number, size: number) => {
  const reads: bigint[] = [];
  const read = async (after: GlobalPosition | undefined): Promise<RecordedEvent[]> => {
    const from = after?.prepare ?? 0n;
    reads.push(from);
    await new Promise((resolve) => setTimeout(resolve, 1));
    const events: RecordedEvent[] = [];
    for (let n = from + 1n; n <= BigInt(total) && events.length < size; n += 1n)
      events.push({
        id: String(n),
        stream: 's',
        revision: n - 1n,
        position: { commit: 1n, prepare: n },
        type: 'T',
        data: null,
        metadata: {},
        createdAt: new Date(0),
      });
    return events;
  };
  return { read, reads };
};

test('consumers at different paces each see every page once, in order; each page is read once', async () => {
  const { read, reads } = fakeLog(95, 10);
  const pages = new SharedPages(read, 10, 3, 2);
  let slowest = 0;
  const furthest: number[] = [0, 0, 0];
  const seen = await Promise.all(
    [0, 1, 2].map(async (consumer) => {
      const got: bigint[] = [];
      for (let index = 0; ; index += 1) {
        const events = await pages.page(index);
        if (events.length === 0) break;
        furthest[consumer] = index;
        slowest = Math.min(...furthest);
        // No consumer starts a page more than two past the page the slowest is on.
        assert.ok(index - slowest <= 2, `consumer ${consumer} at ${index}, slowest at ${slowest}`);
        got.push(...events.map((event) => event.position.prepare));
        await new Promise((resolve) => setTimeout(resolve, consumer * 3));
        pages.done(index);
        if (events.length < 10) break;
      }
      return got;
    }),
  );
  const all = Array.from({ length: 95 }, (_, i) => BigInt(i + 1));
  for (const got of seen) assert.equal(got, all);
  assert.equal(reads, [0n, 10n, 20n, 30n, 40n, 50n, 60n, 70n, 80n, 90n]);
});

test('stop: consumers waiting for a slower one get an empty page instead of waiting for ever', async () => {
  const { read } = fakeLog(100, 10);
  const pages = new SharedPages(read, 10, 2, 1);
  for (let index = 0; index < 2; index += 1) {
    await pages.page(index);
    pages.done(index);
  }
  const waiting = pages.page(2); // the other consumer has not finished page 0
  let settled = false;
  void waiting.then(() => (settled = true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.is(settled, false);
  pages.stop();
  assert.equal(await waiting, []);
});

test.run();
