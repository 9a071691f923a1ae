// What of a sent message is kept for redelivery. MCP 2025-11-25 basic/transports §Resumability and
// Redelivery: a server MAY replay the messages after Last-Event-ID, and MUST NOT replay another stream's.
// Redelivery is optional, so a message larger than MCP_REPLAY_MAX_BYTES is sent live in full but kept
// only as a stand-in, and the log grows by a bounded amount per message whatever a tool returns:
// - a response is kept as a JSON-RPC error for the same request id, so a client that resumes across it
//   learns that the result is gone and can repeat the request, instead of waiting for it forever;
// - any other message (a notification, a server request) is kept without its payload and skipped on
//   replay, as the spec allows. A standalone-stream message reaches GET streams only through the log,
//   so one that large is not delivered at all (our own tools send none).
// Everything kept still expires by EVENT_RETENTION / EVENT_RETENTION_MAX_PER_STREAM.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** JSON-RPC 2.0 §5.1: -32000 to -32099 are server-defined errors. */
export const REPLAY_DROPPED_CODE = -32000;

/** The UTF-8 size of `text` if it exceeds `maxBytes`, else undefined (measured only when it may). */
export const oversize = (text: string, maxBytes: number): number | undefined => {
  // UTF-8 needs at least one and at most three bytes per UTF-16 unit.
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > maxBytes ? bytes : undefined;
};

/** The stand-in kept for a message of `bytes` bytes (see above). */
export const replayStandIn = (message: JSONRPCMessage, bytes: number, maxBytes: number): JSONRPCMessage => {
  if ('id' in message && ('result' in message || 'error' in message))
    return {
      jsonrpc: '2.0',
      id: message.id,
      error: {
        code: REPLAY_DROPPED_CODE,
        message: `The response (${bytes} bytes) was larger than this server keeps for redelivery (${maxBytes} bytes); send the request again`,
        data: { reason: 'replay_payload_too_large', bytes, limit: maxBytes },
      },
    };
  return {} as JSONRPCMessage;
};
