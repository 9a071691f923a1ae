// A realistic event log for benchmarks: what a server with MCP users writes. Per "visit": a browser
// login, a grant (consent, code redeemed, refresh rotations), an MCP session with its messages and
// audit events, a few memory notes; now and then a new user and a new client. Every event parses with
// its domain schema, so the real projections read it as they would in production.
import { randomUUID } from 'node:crypto';
import type { StreamAppend } from '../eventstore/port.ts';

/** Yields one visit's appends at a time until at least `total` events are made (fresh ids each run). */
export function* eventMix(total: number): Generator<StreamAppend[]> {
  let made = 0;
  let visit = 0;
  const base = Date.parse('2026-01-01T00:00:00Z');
  const users: string[] = [];
  const clients: string[] = [];
  while (made < total) {
    const at = new Date(base + visit * 60_000).toISOString();
    const later = new Date(base + visit * 60_000 + 86_400_000).toISOString();
    const appends: StreamAppend[] = [];
    const push = (stream: string, events: { type: string; data: unknown }[]) => {
      appends.push({
        stream,
        events: events.map((e) => ({ ...e, metadata: { actor: { id: 'bench', type: 'system' } } })),
      });
      made += events.length;
    };
    if (visit % 20 === 0 || users.length === 0) {
      const userId = randomUUID();
      users.push(userId);
      push(`user-${userId}`, [
        {
          type: 'UserCreated',
          data: {
            userId,
            email: `u${visit}.${userId.slice(0, 8)}@example.test`,
            name: `User ${visit}`,
            roles: ['user'],
            createdAt: at,
            passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$bench$bench',
          },
        },
      ]);
    }
    if (visit % 50 === 0 || clients.length === 0) {
      const clientId = randomUUID();
      clients.push(clientId);
      push(`oauth-client-${clientId}`, [
        {
          type: 'ClientRegistered',
          data: {
            at,
            source: 'dynamic',
            clientId,
            clientName: `Client ${visit}`,
            grantTypes: ['authorization_code', 'refresh_token'],
            redirectUris: ['http://127.0.0.1:9999/callback'],
            applicationType: 'web',
            tokenEndpointAuthMethod: 'none',
          },
        },
      ]);
    }
    const userId = users[visit % users.length]!;
    const clientId = clients[visit % clients.length]!;
    const browser = randomUUID();
    push(`browser-session-${browser}`, [
      {
        type: 'BrowserSessionStarted',
        data: {
          ip: '127.0.0.1',
          userId,
          purpose: 'oauth',
          expiresAt: later,
          sessionId: browser,
          startedAt: at,
          userAgent: 'bench',
        },
      },
      { type: 'BrowserSessionEnded', data: { sessionId: browser, at, reason: 'logout' } },
    ]);
    const grantId = randomUUID();
    const scopes = ['mcp:tools:read', 'mcp:tools:write'];
    const tokens = () => ({
      scopes,
      refreshHash: randomUUID(),
      accessTokenId: `${grantId}.${randomUUID()}`,
      accessExpiresAt: later,
      refreshExpiresAt: later,
    });
    const resource = 'http://127.0.0.1:8080/mcp';
    const grantEvents = [
      { type: 'ConsentGiven', data: { at, scopes, userId, grantId, clientId, remembered: false } },
      { type: 'AuthorizationCodeRedeemed', data: { at, tokens: tokens(), userId, grantId, clientId, resource } },
    ];
    for (let r = 0; r < 3; r += 1) {
      grantEvents.push({
        type: 'RefreshTokenRotated',
        data: { at, tokens: tokens(), userId, grantId, clientId, resource, previousHash: 'x' } as never,
      });
    }
    push(`oauth-grant-${grantId}`, grantEvents);
    const sessionId = randomUUID();
    push(`mcp-session-${sessionId}`, [
      {
        type: 'McpSessionOpened',
        data: {
          userId,
          clientId,
          openedAt: at,
          expiresAt: later,
          sessionId,
          clientName: 'bench',
          clientVersion: '1',
          protocolVersion: '2025-11-25',
          initializeParams: {
            clientInfo: { name: 'bench', version: '1' },
            capabilities: {},
            protocolVersion: '2025-11-25',
          },
        },
      },
      { type: 'McpSessionClosed', data: { sessionId, reason: 'deleted', at } },
    ]);
    // The bulk of a real log: each call's response message and its audit event.
    const calls = 20;
    const streamId = randomUUID();
    push(
      `mcp-messages-${sessionId}`,
      Array.from({ length: calls }, (_, seq) => ({
        type: 'McpEventEmitted',
        data: {
          seq,
          message: { id: seq, result: { content: [{ text: `result ${seq}`, type: 'text' }] }, jsonrpc: '2.0' },
          streamId,
          sessionId,
        },
      })),
    );
    push(
      `audit-tools-${userId}-${visit}`,
      Array.from({ length: calls }, (_, n) => ({
        type: 'ToolCalled',
        data: {
          at,
          tool: n % 2 ? 'system_whoami' : 'memory_search',
          callId: randomUUID(),
          userId,
          outcome: 'ok',
          clientId,
          arguments: { query: `topic ${n}` },
          sessionId,
          durationMs: 1.5,
        },
      })),
    );
    for (let n = 0; n < 2; n += 1) {
      const noteId = randomUUID();
      const note = {
        at,
        tags: ['bench'],
        title: `Note ${visit}.${n}`,
        noteId,
        userId,
        content: `remember item ${visit} ${n}`,
      };
      push(`memory-note-${noteId}`, [
        { type: 'MemoryStored', data: note },
        { type: 'MemoryUpdated', data: { ...note, content: `${note.content}, revised` } },
      ]);
    }
    visit += 1;
    yield appends;
  }
}
