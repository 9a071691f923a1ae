// A closed-loop load generator over node:http keep-alive: `connections` clients, each with its own MCP
// session, sending tools/call back to back for `seconds`; reports requests/s and latency percentiles.
import http from 'node:http';

/** The call each client repeats, and the text its reply must contain. */
export type LoadCall = {
  name: string;
  arguments(worker: number, i: number): Record<string, unknown>;
  expect(worker: number, i: number): string;
};

export const ECHO: LoadCall = {
  name: 'bench_echo',
  arguments: (worker, i) => ({ text: `w${worker} #${i}` }),
  expect: (worker, i) => `w${worker} #${i}`,
};

/** A real product tool (RemoteMCP only): scope check, audit event, the user read model. */
export const WHOAMI: LoadCall = { name: 'system_whoami', arguments: () => ({}), expect: () => '"userId"' };

/** By name, for the load generator's child process. */
export const CALLS = { echo: ECHO, whoami: WHOAMI } as const;

export type LoadResult = {
  connections: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
};

const ACCEPT = 'application/json, text/event-stream';

type Reply = { status: number; headers: http.IncomingHttpHeaders; body: string };

/**
 * One POST. A keep-alive socket the server closed while it sat idle (rows take turns, so a row's sockets
 * wait for the others' slices, past Node's 5 s keep-alive timeout on a slow machine) fails with
 * ECONNRESET before any answer: that request is sent again once on a new socket (Node's http docs,
 * `request.reusedSocket`).
 */
const send = (agent: http.Agent, url: URL, headers: Record<string, string>, body: unknown): Promise<Reply> =>
  sendOnce(agent, url, headers, body).catch((error: unknown) => {
    if ((error as { retry?: boolean }).retry) return sendOnce(agent, url, headers, body);
    throw error;
  });

const sendOnce = (agent: http.Agent, url: URL, headers: Record<string, string>, body: unknown): Promise<Reply> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          accept: ACCEPT,
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      reject(req.reusedSocket && error.code === 'ECONNRESET' ? Object.assign(error, { retry: true }) : error),
    );
    req.end(payload);
  });

export const openSession = async (url: URL, headers: Record<string, string>, agent: http.Agent): Promise<string> => {
  const init = await send(agent, url, headers, {
    jsonrpc: '2.0',
    id: 0,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
  });
  const sessionId = init.headers['mcp-session-id'];
  if (typeof sessionId !== 'string') throw new Error(`initialize failed: ${init.status} ${init.body}`);
  await send(
    agent,
    url,
    { ...headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
    { jsonrpc: '2.0', method: 'notifications/initialized' },
  );
  return sessionId;
};

export const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/**
 * `connections` keep-alive clients to drive load in one or more runs: each with its own open MCP session
 * (`legacy`, 2025-11-25), or none at all (`modern`, 2026-07-28: every request carries its envelope).
 */
export type LoadClients = {
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly agent: http.Agent;
  readonly sessions: string[];
  readonly era: 'legacy' | 'modern';
  next: number;
};

export const connect = async (
  endpoint: string,
  headers: Record<string, string>,
  connections: number,
  era: 'legacy' | 'modern' = 'legacy',
): Promise<LoadClients> => {
  const url = new URL(endpoint);
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const sessions =
    era === 'modern'
      ? Array.from({ length: connections }, () => '')
      : await Promise.all(Array.from({ length: connections }, () => openSession(url, headers, agent)));
  return { url, headers, agent, sessions, era, next: 1 };
};

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** Sends `call` back to back on every session for `seconds`; appends each latency (ms) to `latencies`. */
export const drive = async (
  clients: LoadClients,
  seconds: number,
  call: LoadCall,
  latencies: number[],
): Promise<{ requests: number; errors: number }> => {
  let requests = 0;
  let errors = 0;
  const until = performance.now() + seconds * 1_000;
  await Promise.all(
    clients.sessions.map(async (sessionId, worker) => {
      const modern = clients.era === 'modern';
      const sessionHeaders = modern
        ? {
            ...clients.headers,
            'mcp-protocol-version': '2026-07-28',
            'mcp-method': 'tools/call',
            'mcp-name': call.name,
          }
        : { ...clients.headers, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' };
      while (performance.now() < until) {
        const i = (clients.next += 1);
        const started = performance.now();
        const reply = await send(clients.agent, clients.url, sessionHeaders, {
          jsonrpc: '2.0',
          id: i,
          method: 'tools/call',
          params: { name: call.name, arguments: call.arguments(worker, i), ...(modern ? { _meta: MODERN_META } : {}) },
        });
        if (reply.status !== 200 || !reply.body.includes(call.expect(worker, i))) errors += 1;
        latencies.push(performance.now() - started);
        requests += 1;
      }
    }),
  );
  return { requests, errors };
};

export const runLoad = async (
  endpoint: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
  call: LoadCall = ECHO,
  era: 'legacy' | 'modern' = 'legacy',
): Promise<LoadResult> => {
  const clients = await connect(endpoint, headers, connections, era);
  const latencies: number[] = [];
  const { requests, errors } = await drive(clients, seconds, call, latencies);
  clients.agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    connections,
    requests,
    perSecond: Math.round(requests / seconds),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
  };
};
