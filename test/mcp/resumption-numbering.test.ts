// McpResumption's numbering of request streams, on the memory event log: a long session does not keep
// every finished stream's counter, and a stream still running keeps its numbering however many others
// come and go.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { GroupCommit } from '../../eventstore/group-commit.ts';
import { MemoryEventLog } from '../../eventstore/memory.ts';
import { McpResumption } from '../../mcp/resumption.ts';

const test = suite('mcp: request stream numbering');

const priming = {} as JSONRPCMessage;
const notification = (n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/message',
  params: { level: 'info', data: n },
});
const response = (id: number): JSONRPCMessage => ({ jsonrpc: '2.0', id, result: { content: [] } });

test('finished streams are forgotten past 1,000; a running one keeps counting', async () => {
  const log = new MemoryEventLog();
  const resumption = new McpResumption(log, new GroupCommit(log), 'session-1');
  const seqs = (resumption as unknown as { seqs: Map<string, unknown> }).seqs;
  assert.is(await resumption.storeEvent('long', priming), 'session-1/long/0');
  assert.is(await resumption.storeEvent('long', notification(1)), 'session-1/long/1');
  for (let i = 0; i < 1_500; i += 1) {
    await resumption.storeEvent(`s${i}`, priming);
    assert.is(await resumption.storeEvent(`s${i}`, response(i)), `session-1/s${i}/1`);
  }
  assert.ok(seqs.size <= 1_001, `kept ${seqs.size} streams`);
  assert.ok(seqs.has('long'), 'the running stream is kept');
  assert.is(await resumption.storeEvent('long', notification(2)), 'session-1/long/2');
  assert.is(await resumption.storeEvent('long', response(0)), 'session-1/long/3');
});

test.run();
