// GET streams attached on this instance, per session. MCP 2025-11-25 basic/transports: the server MUST
// NOT send a message on more than one stream (§Multiple Connections), and a replay continues exactly one
// stream (§Resumability and Redelivery). So a session has at most one standalone stream and one reader
// per request stream; a second one of the same kind is a conflict, whether or not it sends Last-Event-ID.
// A session's open GET streams are also bounded as a whole (MCP_MAX_STREAMS_PER_SESSION).
//
// Kept per instance, apart from the session's SDK server (which may be evicted while a stream is open).
// Several instances behind a load balancer may each hold one standalone stream of a session: the bound
// is then one per instance, which a client cannot multiply.

/** Why a stream was refused: `duplicate` → 409, `full` → 429. */
export type StreamRefusal = 'duplicate' | 'full';

export class StreamSlots {
  /** Session id → the SDK stream ids (`_GET_stream` or a request stream) with a GET attached here. */
  private readonly bySession = new Map<string, Set<string>>();

  constructor(private readonly maxPerSession: number) {}

  /** Takes the slot of `streamId` in the session; returns its release, or why it cannot be had. */
  claim(sessionId: string, streamId: string): (() => void) | StreamRefusal {
    let streams = this.bySession.get(sessionId);
    if (streams?.has(streamId)) return 'duplicate';
    if (streams && streams.size >= this.maxPerSession) return 'full';
    if (!streams) this.bySession.set(sessionId, (streams = new Set()));
    streams.add(streamId);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      streams.delete(streamId);
      if (streams.size === 0 && this.bySession.get(sessionId) === streams) this.bySession.delete(sessionId);
    };
  }

  /** Whether a GET holds `streamId` of the session on this instance. */
  holds(sessionId: string, streamId: string): boolean {
    return this.bySession.get(sessionId)?.has(streamId) ?? false;
  }
}
