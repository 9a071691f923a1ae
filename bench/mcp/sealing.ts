// The CPU one tools/call spends on crypto-shredding (eventstore/encrypting.ts): sealing what the call
// stores (its ToolCalled audit with the arguments, and the result message kept for resumption) and
// opening both again, with the server's own key store, next to the same events written as plain JSON
// (what the adapter would do with them anyway). Opened twice: by another instance (deciphered) and by the
// sealing one (its own projections' case: the plaintext it kept). Interleaved; CPU of this process per call.
import { randomUUID } from 'node:crypto';
import { ERASURE, PERSONAL_FIELDS, erasedValue } from '../../domain/personal.ts';
import { PersonalData, type EncryptingLog } from '../../eventstore/encrypting.ts';
import type { NewEvent, RecordedEvent } from '../../eventstore/port.ts';

const callEvents = (userId: string, i: number): { stream: string; event: NewEvent }[] => [
  {
    stream: `tool-calls-${userId}`,
    event: {
      type: 'ToolCalled',
      data: { userId, tool: 'bench_echo', arguments: { text: `echo ${i} `.repeat(8) }, outcome: 'ok', ms: 1 },
    },
  },
  {
    stream: `mcp-session-${userId}`,
    event: {
      type: 'McpEventEmitted',
      data: {
        sessionId: 'bench',
        userId,
        streamId: randomUUID(),
        seq: i,
        message: { jsonrpc: '2.0', id: i, result: { content: [{ type: 'text', text: `echo ${i} `.repeat(8) }] } },
      },
    },
  },
];

const cpuUs = () => {
  const used = process.cpuUsage();
  return used.user + used.system;
};

/** µs of CPU per call: writing the call's events as JSON (baseline), and sealing + opening them. */
export const sealingCpuPerCall = async (
  log: EncryptingLog,
  calls = 5_000,
): Promise<{ plainUs: number; sealUs: number; openUs: number; openOwnUs: number }> => {
  const schema = { rules: PERSONAL_FIELDS, erased: erasedValue, erasure: ERASURE };
  const personal = new PersonalData(log.personalKeys, schema);
  // Another instance on the same key store: it has none of the plaintexts the sealing one keeps.
  const other = new PersonalData(log.personalKeys, schema);
  const userId = randomUUID();
  let plain = 0;
  let seal = 0;
  let open = 0;
  let openOwn = 0;
  for (let round = -1; round < 4; round += 1) {
    const slice = { plain: 0, seal: 0, open: 0, openOwn: 0 };
    for (let i = 0; i < calls / 4; i += 1) {
      const events = callEvents(userId, i);
      let started = cpuUs();
      for (const { event } of events) JSON.stringify(event.data);
      slice.plain += cpuUs() - started;
      started = cpuUs();
      // As the decorator seals a group commit's batch: one sealAll for both streams.
      const batch = personal.sealAll(events.map(({ stream, event }) => ({ stream, events: [event] })));
      const sealed = (batch instanceof Promise ? await batch : batch).map((append) => append.events[0]!);
      for (const event of sealed) JSON.stringify(event.data);
      slice.seal += cpuUs() - started;
      const recorded = sealed.map(
        (event, n) =>
          ({
            ...event,
            id: event.id!,
            stream: events[n]!.stream,
            revision: 0n,
            position: { commit: 0n, prepare: 0n },
            metadata: {},
            createdAt: new Date(),
          }) as RecordedEvent,
      );
      started = cpuUs();
      for (const event of await other.open(recorded)) JSON.stringify(event.data);
      slice.open += cpuUs() - started;
      started = cpuUs();
      for (const event of await personal.open(recorded)) JSON.stringify(event.data);
      slice.openOwn += cpuUs() - started;
    }
    // Round -1 warms the JIT and the key cache.
    if (round >= 0) {
      plain += slice.plain;
      seal += slice.seal;
      open += slice.open;
      openOwn += slice.openOwn;
    }
  }
  return { plainUs: plain / calls, sealUs: seal / calls, openUs: open / calls, openOwnUs: openOwn / calls };
};
