import * as assert from 'uvu/assert';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { eventLogContract } from './contract.ts';

const test = eventLogContract('memory', async () => {
  const log = new MemoryEventLog();
  return { log, dispose: () => log.close() };
});

test('memory: scavenge drops what $maxAge hides', async () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const log = new MemoryEventLog(() => now);
  await log.append('s', [{ type: 'Old', data: {} }]);
  now = new Date('2026-01-01T02:00:00Z');
  await log.append('s', [{ type: 'New', data: {} }]);
  await log.setStreamMetadata('s', { maxAgeSeconds: 3600 });
  assert.equal(
    (await log.readStream('s')).map((e) => e.type),
    ['New'],
  );
  assert.is(await log.scavenge(), 1);
  assert.equal(
    (await log.readAll()).map((e) => e.type),
    ['New'],
  );
});

test.run();
