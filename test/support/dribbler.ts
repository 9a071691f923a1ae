// A hostile client-metadata-document host for the CIMD tests: real HTTP on loopback. Paths:
//   /dribble/<name>       200 headers, then one byte every 200 ms, forever (until the fetcher hangs up)
//   /delay/<ms>/<name>    a valid document after <ms>
// It records every request per path, when its socket closed, and how many sockets were open at once.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const CLAUDE = 'https://claude.ai/api/mcp/auth_callback';

export type Dribbler = {
  base: string;
  /** Requests per path (one per connection: the fetcher sends Connection: close). */
  hits: Map<string, number>;
  /** When the socket of a request to that path closed (ms since epoch). */
  closedAt: Map<string, number>;
  open(): number;
  maxOpen(): number;
  resetMaxOpen(): void;
  /** Resolves once `predicate` holds (polled), or rejects after `ms`. */
  until(predicate: () => boolean, ms?: number): Promise<void>;
  close(): Promise<void>;
};

export const startDribbler = async (): Promise<Dribbler> => {
  const hits = new Map<string, number>();
  const closedAt = new Map<string, number>();
  const sockets = new Set<Socket>();
  let maxOpen = 0;
  let base = '';
  const server = http.createServer((request, response) => {
    const path = request.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    request.socket.once('close', () => closedAt.set(path, Date.now()));
    const [, kind, arg] = path.split('/');
    if (kind === 'delay') {
      const timer = setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ client_id: `${base}${path}`, client_name: 'Slow', redirect_uris: [CLAUDE] }));
      }, Number(arg));
      response.on('close', () => clearTimeout(timer));
      return;
    }
    if (kind === 'dribble') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{');
      const timer = setInterval(() => response.write(' '), 200);
      response.on('close', () => clearInterval(timer));
      return;
    }
    response.writeHead(404);
    response.end();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    maxOpen = Math.max(maxOpen, sockets.size);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    hits,
    closedAt,
    open: () => sockets.size,
    maxOpen: () => maxOpen,
    resetMaxOpen: () => {
      maxOpen = sockets.size;
    },
    async until(predicate, ms = 5_000) {
      const started = Date.now();
      while (!predicate()) {
        if (Date.now() - started > ms) throw new Error('condition not reached in time');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
};

export type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string; ms: number };

/** GET /oauth/authorize for a metadata-document client_id, over its own connection; abort() hangs up. */
export const authorizeWith = (base: string, clientId: string): { answer: Promise<Answer>; abort(): void } => {
  const url = new URL('/oauth/authorize', base);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: CLAUDE,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
  }).toString();
  const started = Date.now();
  let request: http.ClientRequest | undefined;
  const answer = new Promise<Answer>((resolve, reject) => {
    request = http.get(url, { agent: false, headers: { accept: 'application/json' } }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, ms: Date.now() - started }),
      );
    });
    request.on('error', reject);
    // A bound for the test itself: an unbounded fetch must fail the test, not hang it.
    request.setTimeout(15_000, () => request?.destroy(new Error('no answer within 15 s')));
  });
  return {
    answer,
    abort: () => {
      answer.catch(() => undefined);
      request?.destroy();
    },
  };
};
