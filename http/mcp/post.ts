// POST /mcp: JSON-RPC messages from the client (MCP 2025-11-25 basic/transports §Sending Messages).
// We read and parse the body ourselves (size limit, scope checks before dispatch), then hand the parsed
// messages to the session's SDK transport.
import type Koa from 'koa';
import type { Services } from '../../app/services.ts';
import type { McpCaller } from '../../mcp/index.ts';
import { insufficientScope } from './auth.ts';
import { RPC, rpcError, sendWebResponse, toWebRequest } from './rpc.ts';
import { PROTOCOL_VERSIONS, checkProtocolVersion, requireSession } from './session.ts';

/** Upper bound of a POST body; larger ones get 413 before anything is parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

type Message = { method?: unknown; params?: unknown };

const readBody = async (ctx: Koa.Context): Promise<{ text: string } | 'too_large' | 'aborted'> => {
  const declared = Number(ctx.get('content-length') || 0);
  if (declared > MAX_BODY_BYTES) return 'too_large';
  // Events rather than an async iterator: this runs for every message of every client.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
      if (size > MAX_BODY_BYTES) {
        done();
        ctx.req.pause();
        resolve('too_large');
      }
    };
    const onEnd = () => {
      done();
      resolve({ text: Buffer.concat(chunks).toString('utf8') });
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    // A client gone before the end of its body: nothing to answer.
    const onClose = () => {
      done();
      resolve('aborted');
    };
    const done = () => {
      ctx.req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    };
    ctx.req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
};

const messagesOf = (body: unknown): Message[] =>
  (Array.isArray(body) ? body : [body]).filter((item): item is Message => typeof item === 'object' && item !== null);

/** RFC 6750 §3.1 insufficient_scope before dispatch, for tools the token's scopes do not cover. */
const missingScope = (services: Services, caller: McpCaller, messages: Message[]): string | undefined => {
  for (const message of messages) {
    if (message.method !== 'tools/call') continue;
    const name = (message.params as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string') continue;
    const needed = services.mcp.requiredScope(name);
    if (needed && !caller.scopes.includes(needed)) return needed;
  }
  return undefined;
};

export const handlePost = (services: Services): Koa.Middleware => async (ctx) => {
  const caller = ctx.state.caller as McpCaller;
  if (!/^application\/(.+\+)?json\b/i.test(ctx.get('content-type'))) {
    return rpcError(ctx, 415, RPC.serverError, 'Unsupported Media Type: Content-Type must be application/json');
  }
  const raw = await readBody(ctx);
  if (raw === 'aborted') return;
  if (raw === 'too_large') {
    // The rest of the body is not read: close the connection after answering.
    return rpcError(ctx, 413, RPC.serverError, `Payload Too Large: the body exceeds ${MAX_BODY_BYTES} bytes`, { Connection: 'close' });
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.text);
  } catch {
    return rpcError(ctx, 400, RPC.parseError, 'Parse error: Invalid JSON');
  }
  const messages = messagesOf(body);
  if (messages.length === 0) return rpcError(ctx, 400, RPC.invalidRequest, 'Invalid Request: expected a JSON-RPC message or batch');
  const initialize = messages.find((message) => message.method === 'initialize');
  let host;
  if (initialize) {
    const params = { ...((initialize.params ?? {}) as Record<string, unknown>) };
    // MCP lifecycle §Version Negotiation: a revision we do not speak is answered with our latest. The SDK
    // knows older ones too, so it is told the revision we will answer with.
    if (!(PROTOCOL_VERSIONS as readonly unknown[]).includes(params.protocolVersion)) params.protocolVersion = PROTOCOL_VERSIONS[0];
    initialize.params = params;
    host = services.mcp.sessions.create(caller, params);
  } else {
    if (!checkProtocolVersion(ctx)) return;
    host = await requireSession(ctx, services, caller);
    if (!host) return;
    const needed = missingScope(services, caller, messages);
    if (needed) throw insufficientScope(services.config.publicUrl, needed);
  }
  // The SDK picks per-request behaviour (priming events) from this header: use the negotiated revision.
  const request = toWebRequest(ctx, services.config.publicUrl, initialize ? {} : { 'mcp-protocol-version': host.protocolVersion });
  const response = await host.transport.handleRequest(request, {
    parsedBody: body,
    authInfo: { token: '', clientId: caller.clientId, scopes: [...caller.scopes], extra: { userId: caller.userId, ...(caller.tokenId ? { tokenId: caller.tokenId } : {}) } },
  });
  await sendWebResponse(ctx, response);
};
