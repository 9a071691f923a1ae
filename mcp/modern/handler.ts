// The 2026-07-28 path of /mcp: stateless, one McpServer per HTTP request, no Mcp-Session-Id, so any
// instance answers any request (MCP 2026-07-28 basic/transports). The SDK's `createMcpHandler` runs the
// revision's validation ladder (envelope, MCP-Protocol-Version / Mcp-Method / Mcp-Name headers,
// server/discover, resultType, input_required); we give it an authenticated request and the surface.
import { hkdfSync } from 'node:crypto';
import {
  createMcpHandler,
  createRequestStateCodec,
  McpServer,
  type McpRequestContext,
  type RequestStateCodec,
  type ServerEventBus,
  type ServerNotifier,
} from '@modelcontextprotocol/server';
import { toNodeHandler, type NodeMcpRequestHandler } from '@modelcontextprotocol/node';
import type { AuthInfo } from '@modelcontextprotocol/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';

export const SERVER_INFO = { name: 'remotemcp', version: '0.1.0' } as const;

/** Registers tools, resources, prompts (or an extension) on one per-request server. */
export type ModernSurface = (server: McpServer, context: ModernContext) => void;

export type ModernContext = McpRequestContext & {
  /** Seals and checks `requestState` (HMAC, keyed from the server secret: every instance shares it). */
  readonly requestState: RequestStateCodec<Record<string, unknown>>;
  /** Publishes list changes to the `subscriptions/listen` streams (of every instance, given a shared bus). */
  readonly notify: ServerNotifier;
};

export type ModernOptions = {
  /** The surfaces registered on every request's server, in order (tools, fixtures, extensions). */
  readonly surfaces: readonly ModernSurface[];
  /** The server secret; `requestState` keys are derived from it. */
  readonly secret: Buffer;
  /** Where `subscriptions/listen` streams take their change events from (default: this process only). */
  readonly bus?: ServerEventBus;
  /** The POST body bound (the same as the legacy path's). */
  readonly maxBodyBytes: number;
  readonly onerror: (error: Error) => void;
};

export type ModernMcp = {
  /** Answers one authenticated request of the modern era on `res` (the body is already parsed). */
  serve(req: IncomingMessage, res: ServerResponse, authInfo: AuthInfo, body: unknown): Promise<void>;
  /** Publishes list changes to the open `subscriptions/listen` streams of this handler's bus. */
  readonly notify: ServerNotifier;
  readonly bus: ServerEventBus;
  close(): Promise<void>;
};

/** A 32-byte key for one purpose, derived from the server secret (RFC 5869 HKDF-SHA256). */
/** One validator for every per-request server (its compiled schemas are cached by schema). */
const ajvValidator = new AjvJsonSchemaValidator();

const derivedKey = (secret: Buffer, purpose: string): Uint8Array =>
  new Uint8Array(hkdfSync('sha256', secret, Buffer.alloc(0), `remotemcp ${purpose}`, 32));

export const createModernMcp = (options: ModernOptions): ModernMcp => {
  // Bound to the method and the principal: a state minted for one user's tools/call cannot be replayed
  // by another user or against another method (MCP 2026-07-28 server/utilities/input-required).
  const requestState = createRequestStateCodec<Record<string, unknown>>({
    key: derivedKey(options.secret, 'mcp requestState'),
    bind: (ctx) => `${ctx.mcpReq.method}\0${ctx.http?.authInfo?.clientId ?? ''}\0${userOf(ctx.http?.authInfo)}`,
  });
  const factory = (context: McpRequestContext): McpServer => {
    const server = new McpServer(SERVER_INFO, {
      capabilities: {},
      // One shared validator: each server building its own costs a sixth of a request's CPU.
      jsonSchemaValidator: ajvValidator,
      requestState: { verify: requestState.verify },
    });
    const full: ModernContext = { ...context, requestState, notify: handler.notify };
    for (const surface of options.surfaces) surface(server, full);
    return server;
  };
  const handler = createMcpHandler(factory, {
    legacy: 'reject',
    onerror: options.onerror,
    maxRequestBodySize: options.maxBodyBytes,
    ...(options.bus ? { bus: options.bus } : {}),
  });
  const node: NodeMcpRequestHandler = toNodeHandler(handler, { onerror: options.onerror });
  return {
    async serve(req, res, authInfo, body) {
      (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfo;
      await node(req as Parameters<NodeMcpRequestHandler>[0], res, body);
    },
    notify: handler.notify,
    bus: handler.bus,
    close: () => handler.close(),
  };
};

const userOf = (authInfo: AuthInfo | undefined): string => {
  const userId = (authInfo?.extra as { userId?: unknown } | undefined)?.userId;
  return typeof userId === 'string' ? userId : '';
};
