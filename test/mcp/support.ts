// Test-only stand-ins for the MCP e2e tests.
// STAND-IN: `StandInTokens` replaces the OAuth server's TokenVerifier (app/oauth/verifier.ts) with a local ES256 key
// (jose); it checks what the real one must — signature, expiry, audience, revocation — so /mcp's
// handling of each outcome can be tested before (and independently of) the real authorization server.
// STAND-IN: `testTools` replaces the tool registry (mcp/tools/) with a few tools that exercise the transport.
import { randomUUID } from 'node:crypto';
import { SignJWT, generateKeyPair, jwtVerify, errors, type CryptoKey } from 'jose';
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { InvalidTokenError, type AccessTokenInfo, type TokenVerifier } from '../../app/auth-port.ts';
import type { OAuth } from '../../app/oauth/index.ts';
import { MCP_READ, MCP_WRITE } from '../../domain/scopes.ts';
import { createMcp } from '../../mcp/index.ts';
import type { ToolCaller, Tools } from '../../mcp/tools/index.ts';
import { createServerDatabase } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

export class StandInTokens implements TokenVerifier {
  private readonly revoked = new Set<string>();
  private constructor(private readonly keys: { privateKey: CryptoKey; publicKey: CryptoKey }) {}

  static async create(): Promise<StandInTokens> {
    return new StandInTokens(await generateKeyPair('ES256'));
  }

  async issue(input: {
    sub: string;
    clientId?: string;
    scopes?: string[];
    aud: string;
    ttlSeconds?: number;
  }): Promise<{ token: string; jti: string }> {
    const jti = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      client_id: input.clientId ?? 'client-1',
      scope: (input.scopes ?? [MCP_READ, MCP_WRITE]).join(' '),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setSubject(input.sub)
      .setAudience(input.aud)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(now + (input.ttlSeconds ?? 600))
      .sign(this.keys.privateKey);
    return { token, jti };
  }

  revoke(jti: string): void {
    this.revoked.add(jti);
  }

  async verify(token: string, resource: string): Promise<AccessTokenInfo> {
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, { typ: 'at+jwt', audience: resource });
      if (!payload.jti || this.revoked.has(payload.jti))
        throw new InvalidTokenError('revoked', 'the token was revoked');
      return {
        token,
        subject: payload.sub ?? '',
        clientId: String(payload.client_id),
        scopes: String(payload.scope ?? '')
          .split(' ')
          .filter(Boolean),
        audience: [payload.aud ?? []].flat(),
        tokenId: payload.jti,
        expiresAt: new Date((payload.exp ?? 0) * 1000),
      };
    } catch (error) {
      if (error instanceof InvalidTokenError) throw error;
      if (error instanceof errors.JWTExpired) throw new InvalidTokenError('expired', 'the token has expired');
      if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud')
        throw new InvalidTokenError('wrong_audience', 'the token is not for this resource');
      throw new InvalidTokenError('invalid_signature', 'the token is not valid');
    }
  }
}

/** What the test tools did, to assert that refused calls never ran. */
export const toolCalls: { name: string; caller: ToolCaller }[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's own Tools with register/requiredScope replaced by the test tools. */
export const testTools = (base: Tools): Tools => ({
  ...base,
  register(server: McpServer, caller: ToolCaller) {
    server.registerTool('echo', { description: 'echoes', inputSchema: { text: z.string() } }, async ({ text }) => {
      toolCalls.push({ name: 'echo', caller });
      return { content: [{ type: 'text', text }] };
    });
    // Declared read-only (isReadOnly below): its response may go out before its commit (mcp/transport.ts).
    server.registerTool('peek', { description: 'reads only', inputSchema: { text: z.string() } }, async ({ text }) => {
      toolCalls.push({ name: 'peek', caller });
      return { content: [{ type: 'text', text }] };
    });
    server.registerTool(
      'write_note',
      { description: 'needs write', inputSchema: { text: z.string() } },
      async ({ text }) => {
        toolCalls.push({ name: 'write_note', caller });
        return { content: [{ type: 'text', text: `stored ${text}` }] };
      },
    );
    // Sends `count` logging notifications on the request's stream, `delayMs` apart, then answers.
    server.registerTool(
      'count_slowly',
      { description: 'streams', inputSchema: { count: z.number().int(), delayMs: z.number().int() } },
      async ({ count, delayMs }, extra) => {
        toolCalls.push({ name: 'count_slowly', caller });
        for (let i = 1; i <= count; i += 1) {
          await extra.sendNotification({
            method: 'notifications/message',
            params: { level: 'info', data: `tick ${i}` },
          });
          await sleep(delayMs);
        }
        return { content: [{ type: 'text', text: `counted ${count}` }] };
      },
    );
    server.registerTool(
      'slow_echo',
      { description: 'answers after a pause', inputSchema: { text: z.string(), delayMs: z.number().int() } },
      async ({ text, delayMs }) => {
        toolCalls.push({ name: 'slow_echo', caller });
        await sleep(delayMs);
        return { content: [{ type: 'text', text }] };
      },
    );
    // Sends a notification that belongs to no request: it goes to the standalone GET stream.
    server.registerTool(
      'announce',
      { description: 'standalone', inputSchema: { text: z.string() } },
      async ({ text }) => {
        await server.server.sendLoggingMessage({ level: 'info', data: `announce ${text}` });
        return { content: [{ type: 'text', text: 'announced' }] };
      },
    );
  },
  requiredScope: (name) =>
    ({ echo: MCP_READ, peek: MCP_READ, count_slowly: MCP_READ, announce: MCP_READ, write_note: MCP_WRITE })[name],
  // The other test tools count as tools that may change something: their responses are stored first.
  isReadOnly: (name) => name === 'peek',
});

/** Swaps the running server's MCP layer for one using the stand-ins (the HTTP layer reads services.mcp per request). */
export const useStandIns = async (server: TestServer, tokens: StandInTokens): Promise<void> => {
  const oauth: Pick<OAuth, 'verifier'> = { verifier: tokens };
  const previous = server.services.mcp;
  server.services.mcp = await createMcp(server.services, oauth, testTools(server.services.tools));
  await previous.close();
};

/** Reads an SSE response into events until `stop` says so (or the stream ends). */
export type SseEvent = { id?: string; data: string; retry?: number };
export const readSse = async (
  response: Response,
  stop: (events: SseEvent[]) => boolean = () => false,
): Promise<SseEvent[]> => {
  const events: SseEvent[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const event: SseEvent = { data: '' };
      let hasField = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'id') ((event.id = value), (hasField = true));
        if (field === 'data') ((event.data += value), (hasField = true));
        if (field === 'retry') event.retry = Number(value);
      }
      if (hasField) events.push(event);
      if (stop(events)) {
        await reader.cancel();
        return events;
      }
    }
  }
  return events;
};

/** Two instances on one fresh database of the PostgreSQL server, with the stand-in tokens. */
export type InstancePair = { a: TestServer; b: TestServer; tokens: StandInTokens; stop(): Promise<void> };

/** Behind a load balancer both instances have the same PUBLIC_URL (the token audience): A's. */
export const startInstancePair = async (env: Record<string, string> = {}): Promise<InstancePair> => {
  const database = await createServerDatabase();
  const a = await startTestServer(env, { database });
  const b = await startTestServer({ ...env, PUBLIC_URL: a.base }, { database });
  const tokens = await StandInTokens.create();
  await useStandIns(a, tokens);
  await useStandIns(b, tokens);
  return {
    a,
    b,
    tokens,
    stop: async () => {
      await b.stop();
      await a.stop();
      await database.drop();
    },
  };
};
