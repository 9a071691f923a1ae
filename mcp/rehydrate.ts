// Rebuilds a session's SDK server from its opening event (on another instance, or after the idle
// eviction of mcp/sessions.ts): the client's `initialize` is replayed into the fresh server so it has the
// negotiated version and capabilities. Nothing is stored meanwhile: those messages were sent long ago.
import { randomUUID } from 'node:crypto';
import type { McpResumption } from './resumption.ts';
import type { SessionTransport, SseSink } from './transport.ts';

export const rehydrate = async (
  host: { readonly transport: SessionTransport; readonly resumption: McpResumption },
  state: { readonly initializeParams: Readonly<Record<string, unknown>>; readonly protocolVersion: string },
): Promise<void> => {
  host.resumption.muted = true;
  try {
    let answered!: () => void;
    const done = new Promise<void>((resolve) => (answered = resolve));
    // The answer was sent long ago: it goes nowhere.
    const nowhere: SseSink = { write: () => undefined, end: () => answered(), onClose: () => undefined };
    await host.transport.dispatch(
      [
        {
          jsonrpc: '2.0',
          id: `rehydrate-${randomUUID()}`,
          method: 'initialize',
          params: state.initializeParams as never,
        },
      ],
      state.protocolVersion,
      nowhere,
    );
    await done;
    await host.transport.dispatch(
      [{ jsonrpc: '2.0', method: 'notifications/initialized' }],
      state.protocolVersion,
      undefined,
    );
  } finally {
    host.resumption.muted = false;
  }
};
