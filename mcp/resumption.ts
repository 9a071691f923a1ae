// Resumability on our event log, one instance per session (the session's transport stores through it).
// Every message the server sends on an SSE stream is appended to `mcp-messages-<session>` as
// McpEventEmitted. SSE event ids name session, stream and position: `<session>/<stream>/<n>`, where n is
// the message's `seq` on a request stream and its revision in the session's stream on the standalone one.
// MCP 2025-11-25 basic/transports §Resumability: ids are per stream, and a replay sends only the
// messages of the stream the id belongs to (never another stream's, never another session's).
//
// Messages go to the log through the instance's group commit (eventstore/group-commit.ts): one append
// per round trip for all sessions. A message is sent only once it is stored (mcp/transport.ts awaits
// storeEvent before it writes the SSE event), so whatever a client was sent can be replayed from any
// instance, even after the instance that sent it is killed. Two kinds are written behind:
// - a request stream's priming event: it carries no message, the same queue stores it before anything
//   that follows it, and it is not stored at all when its stream's first message is stored in the same
//   turn (a fast call); a priming id is then known by that message;
// - the response that ends the stream of a request that changes nothing (storeBehind): a client that
//   holds it has nothing left to resume, and one that lost it resumes from an earlier id, whose locate
//   waits for the append (below). It lands in the same group commit as the call's audit event.
// A message is stored with U+FFFD for any U+0000 or unpaired surrogate it holds (eventstore/storable.ts):
// the client got the original; a replay after a dropped connection shows the replacement character.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../app/logger.ts';
import { McpEventEmitted, messageStream } from '../domain/sessions/index.ts';
import type { GroupCommit } from '../eventstore/group-commit.ts';
import type { EventLog, RecordedEvent } from '../eventstore/port.ts';
import { mayHoldUnstorableJson, toStorable } from '../eventstore/storable.ts';
import { oversize, replayStandIn } from './replay-bound.ts';

/** The SDK's name for the standalone GET stream of a session. */
export const STANDALONE_STREAM = '_GET_stream';

export type ParsedEventId = { readonly sessionId: string; readonly streamId: string; readonly order: bigint };

const EVENT_ID = /^([A-Za-z0-9-]{1,64})\/([A-Za-z0-9_-]{1,64})\/(\d{1,15})$/;

export const formatEventId = (sessionId: string, streamId: string, order: bigint): string =>
  `${sessionId}/${streamId}/${order}`;

export const parseEventId = (eventId: string): ParsedEventId | undefined => {
  const match = EVENT_ID.exec(eventId);
  return match ? { sessionId: match[1]!, streamId: match[2]!, order: BigInt(match[3]!) } : undefined;
};

/** A stored message as the SSE layer needs it; `message` is undefined for a priming event. */
export type StoredMessage = {
  readonly eventId: string;
  readonly streamId: string;
  /** Order within its stream: `seq` on request streams, the revision on the standalone stream. */
  readonly order: bigint;
  readonly revision: bigint;
  readonly message: JSONRPCMessage | undefined;
};

export const toStoredMessage = (recorded: RecordedEvent): StoredMessage | undefined => {
  const parsed = McpEventEmitted.safeParse(recorded);
  if (!parsed.success) return undefined;
  const { sessionId, streamId, seq, message } = parsed.data.data;
  const order = seq === undefined ? recorded.revision : BigInt(seq);
  return {
    eventId: formatEventId(sessionId, streamId, order),
    streamId,
    order,
    revision: recorded.revision,
    message: Object.keys(message).length === 0 ? undefined : (message as JSONRPCMessage),
  };
};

/**
 * Where a Last-Event-ID points: its stream, its order, the revision to replay after, and whether a
 * response was sent on that stream at or before it (so a stream of one request has nothing more to say).
 */
export type Cursor = {
  readonly streamId: string;
  readonly order: bigint;
  readonly revision: bigint;
  readonly answered: boolean;
};

const PAGE = 500;
/** Request streams whose message numbering a session keeps (see storeEvent). */
const MAX_NUMBERED_STREAMS = 1_000;
const LOCATE_ATTEMPTS = 20;
const LOCATE_WAIT_MS = 50;

/**
 * Text PostgreSQL cannot store (U+0000, lone surrogates) is kept as U+FFFD; the client got it live. JSON
 * text without their escapes holds none (eventstore/storable.ts): then nothing is walked. (A module
 * function, not a named closure per message: under tsx each costs an Object.defineProperty of its name.)
 */
const storableMessage = (message: JSONRPCMessage, serialized: string | undefined): JSONRPCMessage =>
  serialized !== undefined && !mayHoldUnstorableJson(serialized) ? message : toStorable(message);

export class McpResumption {
  /** While true (rebuilding a session's SDK server from the log), nothing is stored: those messages were sent long ago. */
  muted = false;
  /** Per request stream: the last `seq` issued, and whether its response has gone out. */
  private readonly seqs = new Map<string, { seq: bigint; answered: boolean }>();
  /** The newest store of this session (the group commit keeps a stream's order, so it is the last to land). */
  private stored: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: EventLog,
    private readonly commits: GroupCommit,
    readonly sessionId: string,
    private readonly logger?: Logger,
    /** MCP_REPLAY_MAX_BYTES: larger messages are kept as a stand-in (mcp/replay-bound.ts). */
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    /** The session's user: their key seals the messages kept (domain/personal.ts). */
    private readonly userId?: string,
  ) {}

  private get owner(): { userId?: string } {
    return this.userId ? { userId: this.userId } : {};
  }

  /** `serialized` is the message's JSON when the caller has it already (it is measured, not re-encoded). */
  async storeEvent(streamId: string, message: JSONRPCMessage, serialized?: string): Promise<string> {
    if (this.muted) return formatEventId(this.sessionId, streamId, 0n);
    const stream = messageStream(this.sessionId);
    if (streamId === STANDALONE_STREAM) {
      // Any instance may write here (server-initiated messages), so the log's revision orders it.
      const appended = this.commits.append(stream, [
        {
          type: 'McpEventEmitted',
          data: { sessionId: this.sessionId, ...this.owner, streamId, ...this.kept(message, serialized) },
        },
      ]);
      this.stored = appended.catch(() => undefined);
      return formatEventId(this.sessionId, streamId, (await appended).nextExpectedVersion);
    }
    if (Object.keys(message).length > 0) {
      // Every real message is stored before it is sent.
      const eventId = this.storeBehind(streamId, message, serialized);
      await this.stored;
      return eventId;
    }
    // A priming event carries no message and is written behind. It is stored only if its stream has
    // sent nothing else by the end of this turn of the event loop: a fast call's response, stored in
    // the same turn, shows that the stream exists (locate accepts a priming id by any event of its
    // stream), so most calls store one event, not two.
    const seq = this.nextSeq(streamId, message);
    this.stored = new Promise<void>((resolve) =>
      setImmediate(() => {
        if (this.seqs.get(streamId)?.seq !== seq) return resolve();
        resolve(this.append(stream, streamId, seq, { message }));
      }),
    );
    return formatEventId(this.sessionId, streamId, seq);
  }

  /**
   * Stores a request stream's message without waiting: the id is known at once, the append goes into
   * the group commit's next round trip, and `flush` and `locate` wait for it. storeEvent awaits it; the
   * transport sends without waiting only the response that ends a request which changes nothing.
   */
  storeBehind(streamId: string, message: JSONRPCMessage, serialized?: string): string {
    if (this.muted) return formatEventId(this.sessionId, streamId, 0n);
    const seq = this.nextSeq(streamId, message);
    this.stored = this.append(messageStream(this.sessionId), streamId, seq, this.kept(message, serialized));
    return formatEventId(this.sessionId, streamId, seq);
  }

  /** Only the instance running a request writes to its stream, so it numbers the messages itself. */
  private nextSeq(streamId: string, message: JSONRPCMessage): bigint {
    const seq = (this.seqs.get(streamId)?.seq ?? -1n) + 1n;
    this.numbered(streamId, seq, 'result' in message || 'error' in message);
    return seq;
  }

  /**
   * Records a stream's latest seq, most recently used last. A long session opens a stream per request:
   * past a bound, the oldest streams whose response has gone out are forgotten (nothing more is sent on
   * them); a stream still running keeps its numbering. (A 2025-03-26 JSON-RPC batch answers on one stream
   * more than once; forgetting it between two answers would take a thousand newer streams meanwhile.)
   */
  private numbered(streamId: string, seq: bigint, answers: boolean): void {
    this.seqs.delete(streamId);
    this.seqs.set(streamId, { seq, answered: answers });
    if (this.seqs.size <= MAX_NUMBERED_STREAMS) return;
    let looked = 0;
    for (const [oldest, entry] of this.seqs) {
      if (this.seqs.size <= MAX_NUMBERED_STREAMS || (looked += 1) > 100) break;
      if (entry.answered) this.seqs.delete(oldest);
    }
  }

  /** The message as kept for redelivery: whole, or a stand-in with the size of what was left out. */
  private kept(
    message: JSONRPCMessage,
    serialized: string | undefined,
  ): { message: JSONRPCMessage; omittedBytes?: number } {
    if (this.maxBytes === Number.POSITIVE_INFINITY) return { message: storableMessage(message, serialized) };
    const bytes = oversize(serialized ?? JSON.stringify(message), this.maxBytes);
    if (bytes === undefined) return { message: storableMessage(message, serialized) };
    this.logger?.info(
      { sessionId: this.sessionId, bytes },
      'mcp message too large to keep for redelivery: stand-in stored',
    );
    return { message: replayStandIn(message, bytes, this.maxBytes), omittedBytes: bytes };
  }

  /** Appends a request stream's message through the group commit; a failure is logged (the message is still sent). */
  private append(
    stream: string,
    streamId: string,
    seq: bigint,
    kept: { message: JSONRPCMessage; omittedBytes?: number },
  ): Promise<void> {
    return this.commits
      .append(stream, [
        {
          type: 'McpEventEmitted',
          data: { sessionId: this.sessionId, ...this.owner, streamId, seq: Number(seq), ...kept },
        },
      ])
      .then(
        () => undefined,
        (error: unknown) =>
          this.logger?.error(
            { err: error, sessionId: this.sessionId, streamId },
            'could not store an mcp message: it is sent, but cannot be replayed',
          ),
      );
  }

  /** Resolves once every message stored so far is in the log. */
  async flush(): Promise<void> {
    await this.stored;
  }

  /** The position an id names, if this session really issued it; undefined for forged or foreign ids. */
  async locate(eventId: string): Promise<Cursor | undefined> {
    const parsed = parseEventId(eventId);
    if (!parsed || parsed.sessionId !== this.sessionId) return undefined;
    if (parsed.streamId === STANDALONE_STREAM) {
      const [recorded] = await this.log.readStream(messageStream(this.sessionId), {
        fromRevision: parsed.order,
        maxCount: 1,
      });
      const stored = recorded && recorded.revision === parsed.order ? toStoredMessage(recorded) : undefined;
      return stored && stored.streamId === STANDALONE_STREAM
        ? { streamId: STANDALONE_STREAM, order: parsed.order, revision: parsed.order, answered: false }
        : undefined;
    }
    await this.flush();
    // The message may still be on its way from the instance that runs the request: look again for ~1 s.
    for (let attempt = 0; attempt < LOCATE_ATTEMPTS; attempt += 1) {
      let found: { order: bigint; revision: bigint } | undefined;
      let answered = false;
      await this.scan(-1n, async (stored) => {
        if (stored.streamId !== parsed.streamId) return;
        if (stored.order <= parsed.order && stored.message && ('result' in stored.message || 'error' in stored.message))
          answered = true;
        if (found) return;
        // A priming id (order 0) is known by the first event of its stream: the priming event itself,
        // or the first message when the priming event was not stored (see storeEvent).
        if (stored.order === parsed.order) found = { order: parsed.order, revision: stored.revision };
        else if (parsed.order === 0n) found = { order: 0n, revision: stored.revision - 1n };
      });
      if (found) return { streamId: parsed.streamId, ...found, answered };
      // (So an id that was never issued is refused only after this wait, which also slows down guessing.)
      await new Promise((resolve) => setTimeout(resolve, LOCATE_WAIT_MS));
    }
    return undefined;
  }

  /** Visits the messages of the cursor's stream after it, in order. */
  async forEachAfter(cursor: Cursor, visit: (stored: StoredMessage) => Promise<void>): Promise<void> {
    await this.scan(cursor.revision, async (stored) => {
      if (stored.streamId === cursor.streamId && stored.order > cursor.order) await visit(stored);
    });
  }

  /** Pages through the session's messages after `revision`. */
  private async scan(revision: bigint, visit: (stored: StoredMessage) => Promise<void>): Promise<void> {
    let from = revision + 1n;
    for (;;) {
      const page = await this.log.readStream(messageStream(this.sessionId), { fromRevision: from, maxCount: PAGE });
      for (const recorded of page) {
        const stored = toStoredMessage(recorded);
        if (stored) await visit(stored);
      }
      if (page.length < PAGE) return;
      from = page[page.length - 1]!.revision + 1n;
    }
  }
}
