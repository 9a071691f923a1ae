// POST /mcp: JSON-RPC messages from the client (MCP 2025-11-25 basic/transports §Sending Messages).
// We read, parse and check the body ourselves (size limit, JSON-RPC shape, scope checks before dispatch),
// then hand the messages to the session's transport (mcp/transport.ts), which answers on an SSE stream.
import type Koa from 'koa';
import {
  JSONRPCMessageSchema,
  RELATED_TASK_META_KEY,
  isInitializeRequest,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { classifyInboundRequest, PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { isRequest } from '../../mcp/transport.ts';
import type { HttpDeps } from '../deps.ts';
import type { McpCaller } from '../../mcp/index.ts';
import { recordDeniedCalls, type DeniedCall } from '../../mcp/tools/audit.ts';
import { insufficientScope } from './auth.ts';
import { watchListen } from './listen.ts';
import { RPC, rpcError } from '../errors.ts';
import { SseResponse } from './sse.ts';
import { publicUrlOf } from '../public-url.ts';
import { MAX_BODY_BYTES } from '../../mcp/limits.ts';
import { PROTOCOL_VERSIONS, checkProtocolVersion, requireSession } from './session.ts';
import { need } from '../state.ts';

type Deps = Pick<HttpDeps, 'groupCommit' | 'logger' | 'mcp'>;

export { MAX_BODY_BYTES };
/**
 * Upper bound of `initialize` params: they are kept for good in the session's opening event (to rebuild
 * the session anywhere), so they must stay small. Real clients send well under 2 KB.
 */
export const MAX_INITIALIZE_BYTES = 16 * 1024;
/** Messages in one JSON-RPC batch (2025-03-26 clients); the SDK's own limit. */
const MAX_BATCH = 100;
/** Headers a tool handler may see (`requestInfo`): never the bearer token or cookies. */
const FORWARDED = ['accept', 'content-type', 'mcp-session-id', 'mcp-protocol-version'] as const;

type BodyRead = { text: string } | 'too_large' | 'aborted';

/**
 * A request body, read with events rather than an async iterator: this runs for every message of every
 * client. The listeners are members, not named local closures: under tsx (esbuild's keepNames) each named
 * closure costs an Object.defineProperty of its name every time it is created.
 */
class BodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly onData: (chunk: Buffer) => void;
  private readonly onEnd: () => void;
  private readonly onError: (error: Error) => void;
  private readonly onClose: () => void;

  constructor(
    private readonly req: Koa.Context['req'],
    resolve: (read: BodyRead) => void,
    reject: (error: Error) => void,
  ) {
    this.onData = (chunk) => {
      this.size += chunk.length;
      this.chunks.push(chunk);
      if (this.size > MAX_BODY_BYTES) {
        this.done();
        req.pause();
        resolve('too_large');
      }
    };
    this.onEnd = () => {
      this.done();
      resolve({ text: Buffer.concat(this.chunks).toString('utf8') });
    };
    this.onError = (error) => {
      this.done();
      reject(error);
    };
    // A client gone before the end of its body: nothing to answer.
    this.onClose = () => {
      this.done();
      resolve('aborted');
    };
    req.on('data', this.onData).on('end', this.onEnd).on('error', this.onError).on('close', this.onClose);
  }

  private done(): void {
    this.req.off('data', this.onData).off('end', this.onEnd).off('error', this.onError).off('close', this.onClose);
  }
}

const readBody = async (ctx: Koa.Context): Promise<BodyRead> => {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_BODY_BYTES) return 'too_large';
  return new Promise((resolve, reject) => void new BodyReader(ctx.req, resolve, reject));
};

const REQUEST_KEYS: ReadonlySet<string> = new Set(['jsonrpc', 'id', 'method', 'params']);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isRequestId = (value: unknown): boolean => typeof value === 'string' || Number.isSafeInteger(value);

/**
 * A request or notification checked as JSONRPCMessageSchema checks it (JSON-RPC 2.0 §4: `jsonrpc` "2.0",
 * an integer or string id, a method name, object params, no other member; `_meta` an object with a valid
 * progressToken), or undefined for anything else, which the schema decides (a `_meta` naming a related
 * task included: the schema strips what it does not know there). Most messages are such, and the
 * schema's union costs more than the rest of their routing.
 */
const plainMessage = (item: unknown): JSONRPCMessage | undefined => {
  if (!isPlainObject(item) || item.jsonrpc !== '2.0' || typeof item.method !== 'string') return undefined;
  for (const key in item) if (!REQUEST_KEYS.has(key)) return undefined;
  const { id, params } = item;
  if (id !== undefined && !isRequestId(id)) return undefined;
  if (params === undefined) return item as JSONRPCMessage;
  if (!isPlainObject(params)) return undefined;
  const meta = params._meta;
  if (meta === undefined) return item as JSONRPCMessage;
  if (!isPlainObject(meta) || RELATED_TASK_META_KEY in meta) return undefined;
  if (meta.progressToken !== undefined && !isRequestId(meta.progressToken)) return undefined;
  return item as JSONRPCMessage;
};

/** Whether a single message's `_meta` claims a revision (MCP 2026-07-28: the per-request envelope). */
const metaClaim = (body: unknown): boolean =>
  isPlainObject(body) &&
  isPlainObject(body.params) &&
  isPlainObject(body.params._meta) &&
  PROTOCOL_VERSION_META_KEY in body.params._meta;

/**
 * A single request or notification, other than `initialize`, with a revision claim: the classifier
 * routes it to the 2026 path or rejects it there, never to sessions, so it need not run here (the SDK's
 * handler classifies it again).
 */
const claimsModernEnvelope = (body: unknown): boolean =>
  metaClaim(body) &&
  typeof (body as { method?: unknown }).method === 'string' &&
  (body as { method: string }).method !== 'initialize' &&
  !('result' in (body as object)) &&
  !('error' in (body as object));

/** The body as JSON-RPC messages; undefined when any item is not one (JSON-RPC 2.0 §4, §6). */
const messagesOf = (body: unknown): JSONRPCMessage[] | undefined => {
  const items = Array.isArray(body) ? body : [body];
  const messages: JSONRPCMessage[] = [];
  for (const item of items) {
    const plain = plainMessage(item);
    if (plain) {
      messages.push(plain);
      continue;
    }
    const parsed = JSONRPCMessageSchema.safeParse(item);
    if (!parsed.success) return undefined;
    messages.push(parsed.data);
  }
  return messages;
};

/** RFC 6750 §3.1 insufficient_scope before dispatch, for tools the token's scopes do not cover. */
const deniedCalls = (services: Deps, caller: McpCaller, messages: JSONRPCMessage[]): DeniedCall[] => {
  const denied: DeniedCall[] = [];
  for (const message of messages) {
    if (!isRequest(message) || message.method !== 'tools/call') continue;
    const params = message.params as { name?: unknown; arguments?: unknown } | undefined;
    const name = params?.name;
    if (typeof name !== 'string') continue;
    const needed = services.mcp.requiredScope(name);
    if (needed && !caller.scopes.includes(needed))
      denied.push({ tool: name, scope: needed, arguments: params?.arguments });
  }
  return denied;
};

/**
 * The SDK's era decision (what `isLegacyRequest` answers for a parsed body), from the headers it reads,
 * without building a web Request for it on every POST.
 */
const isLegacy = (ctx: Koa.Context, body: unknown): boolean => {
  const { headers } = ctx.req;
  const version = headers['mcp-protocol-version'];
  const method = headers['mcp-method'];
  const name = headers['mcp-name'];
  return (
    classifyInboundRequest({
      httpMethod: 'POST',
      ...(typeof version === 'string' ? { protocolVersionHeader: version } : {}),
      ...(typeof method === 'string' ? { mcpMethodHeader: method } : {}),
      ...(typeof name === 'string' ? { mcpNameHeader: name } : {}),
      body,
    }).kind === 'legacy'
  );
};

const claimsModernHeader = (ctx: Koa.Context): boolean => {
  const version = ctx.get('mcp-protocol-version');
  return version !== '' && !(PROTOCOL_VERSIONS as readonly string[]).includes(version);
};

/** The per-request authInfo the tools see: the token on this request (never the bearer string itself). */
const authInfoOf = (caller: McpCaller) => ({
  token: '',
  clientId: caller.clientId,
  scopes: [...caller.scopes],
  extra: { userId: caller.userId, ...(caller.tokenId ? { tokenId: caller.tokenId } : {}) },
});

/**
 * One request of the 2026-07-28 era. The bearer token, scope and rate limit were checked by the same
 * middleware as for sessions; the scope of a tools/call is checked here, before anything runs.
 */
const serveModern = async (
  ctx: Koa.Context,
  services: Deps,
  caller: McpCaller,
  body: unknown,
  messages: JSONRPCMessage[] | undefined,
): Promise<void> => {
  const denied = deniedCalls(services, caller, messages ?? []);
  if (denied.length) {
    await recordDeniedCalls(services.groupCommit, caller, undefined, denied).catch((failure: unknown) =>
      services.logger.error({ err: failure }, 'denied tool call audit failed'),
    );
    throw insufficientScope(publicUrlOf(ctx), denied[0]!.scope);
  }
  // The SDK writes the answer (JSON or SSE) on the Node response itself.
  ctx.respond = false;
  const release = watchListen(ctx, services, caller, body);
  try {
    await services.mcp.modern.serve(ctx.req, ctx.res, authInfoOf(caller), body);
  } finally {
    release();
  }
};

export const handlePost =
  (services: Deps): Koa.Middleware =>
  async (ctx) => {
    const caller = need(ctx.state, 'caller');
    if (!/^application\/(.+\+)?json\b/i.test(ctx.get('content-type'))) {
      return rpcError(ctx, 415, RPC.serverError, 'Unsupported Media Type: Content-Type must be application/json');
    }
    const raw = await readBody(ctx);
    if (raw === 'aborted') return;
    if (raw === 'too_large') {
      // The rest of the body is not read: close the connection after answering.
      return rpcError(ctx, 413, RPC.serverError, `Payload Too Large: the body exceeds ${MAX_BODY_BYTES} bytes`, {
        Connection: 'close',
      });
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.text);
    } catch {
      return rpcError(ctx, 400, RPC.parseError, 'Parse error: Invalid JSON');
    }
    // MCP 2026-07-28 requests carry their revision in `_meta`: they go to the stateless path. A body that
    // is no JSON-RPC at all keeps the 2025 answer unless a 2026 protocol header claims it.
    const parsed = messagesOf(body);
    // A single request or notification with no revision claim in `_meta` and no 2026 MCP-Protocol-Version
    // header: the classifier would answer legacy. (parsed[0] is the body itself when plainMessage took it.)
    const modernHeader = claimsModernHeader(ctx);
    const plainLegacy = !modernHeader && parsed !== undefined && parsed[0] === body && !metaClaim(body);
    if ((parsed || modernHeader) && (claimsModernEnvelope(body) || (!plainLegacy && !isLegacy(ctx, body))))
      return serveModern(ctx, services, caller, body, parsed);
    if (Array.isArray(body) && body.length > MAX_BATCH)
      return rpcError(ctx, 400, RPC.invalidRequest, `Invalid Request: Batch must not exceed ${MAX_BATCH} messages`);
    if (Array.isArray(body) && body.length === 0)
      return rpcError(ctx, 400, RPC.invalidRequest, 'Invalid Request: expected a JSON-RPC message or batch');
    const messages = parsed;
    if (!messages) return rpcError(ctx, 400, RPC.parseError, 'Parse error: Invalid JSON-RPC message');
    // §Sending Messages item 2: the client accepts both answer forms (we always answer with SSE).
    const accept = ctx.get('accept');
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) {
      return rpcError(
        ctx,
        406,
        RPC.serverError,
        'Not Acceptable: Client must accept both application/json and text/event-stream',
      );
    }
    const initialize = messages.find(
      (message): message is JSONRPCRequest =>
        isRequest(message) && message.method === 'initialize' && isInitializeRequest(message),
    );
    let host;
    let protocolVersion: string;
    if (initialize) {
      if (messages.length > 1)
        return rpcError(ctx, 400, RPC.invalidRequest, 'Invalid Request: Only one initialization request is allowed');
      const params: Record<string, unknown> = { ...initialize.params };
      if (Buffer.byteLength(JSON.stringify(params)) > MAX_INITIALIZE_BYTES)
        return rpcError(
          ctx,
          400,
          RPC.invalidParams,
          `Invalid params: initialize params exceed ${MAX_INITIALIZE_BYTES} bytes`,
        );
      // MCP lifecycle §Version Negotiation: a revision we do not speak is answered with our latest. The SDK
      // knows older ones too, so it is told the revision we will answer with.
      if (!(PROTOCOL_VERSIONS as readonly unknown[]).includes(params.protocolVersion))
        params.protocolVersion = PROTOCOL_VERSIONS[0];
      initialize.params = params;
      protocolVersion = String(params.protocolVersion);
      // The session is in the log before the client learns its id.
      const opened = await services.mcp.sessions.open(caller, params);
      if (!('sessionId' in opened)) {
        const which = opened.cap === 'user' ? 'this user' : 'this access token';
        return rpcError(
          ctx,
          429,
          RPC.serverError,
          `Too Many Requests: ${which} has ${opened.limit} open MCP sessions; end one (DELETE) or retry later`,
          { 'Retry-After': String(opened.retryAfterSeconds) },
        );
      }
      host = opened;
    } else {
      if (!checkProtocolVersion(ctx)) return;
      host = await requireSession(ctx, services, caller);
      if (!host) return;
      const denied = deniedCalls(services, caller, messages);
      if (denied.length) {
        // Audited like the registry's own refusals (outcome `denied`), stored before the 403 is sent.
        await recordDeniedCalls(services.groupCommit, caller, host.sessionId, denied).catch((failure: unknown) =>
          services.logger.error({ err: failure }, 'denied tool call audit failed'),
        );
        throw insufficientScope(publicUrlOf(ctx), denied[0]!.scope);
      }
      protocolVersion = host.protocolVersion;
    }
    const headers: Record<string, string> = {};
    for (const name of FORWARDED) {
      const value = ctx.req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const authInfo = authInfoOf(caller);
    if (!messages.some(isRequest)) {
      // §Sending Messages item 4: only notifications or responses → 202 Accepted, no body.
      await host.transport.dispatch(messages, protocolVersion, undefined, authInfo, headers);
      // (Koa turns a null body into 204: the status goes after it.)
      ctx.body = null;
      ctx.status = 202;
      return;
    }
    await host.transport.dispatch(messages, protocolVersion, new SseResponse(ctx, host.sessionId), authInfo, headers);
  };
