// The fetch behind client metadata documents (cimd.ts), guarded against SSRF: DNS resolved here and
// private, loopback and link-local addresses refused (unless DANGEROUSLY_ALLOW_PRIVATE_CIMD), the
// connection made only to the address checked (no DNS rebinding), no redirects, 5 KB at most, and one
// signal that ends the whole exchange (DNS, connect, headers, body) at once, whatever the host does.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { DomainError } from '../../domain/shared.ts';

const MAX_BYTES = 5 * 1024; // the draft's recommended ceiling
const DEFAULT_TTL_MS = 5 * 60_000;
const MAX_TTL_MS = 24 * 3_600_000;

export type Fetched = { body: unknown; ttlMs: number };

/** Why a fetch was stopped: its deadline passed, or every request waiting for it went away. */
export class Stopped extends Error {
  constructor(readonly why: 'deadline' | 'cancelled') {
    super(why);
  }
}

const blocked = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  blocked.addSubnet(prefix, bits, 'ipv6');

export const isPrivateAddress = (address: string): boolean => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return blocked.check(mapped, 'ipv4');
  return blocked.check(address, net.isIPv6(address) ? 'ipv6' : 'ipv4');
};

/**
 * GET the document at `url` through the SSRF guard. `signal` stops it at once (the caller's deadline or
 * cancellation; its reason, a Stopped, says which). Every failure is an invalid_client DomainError.
 */
export const fetchDocument = (
  url: URL,
  signal: AbortSignal,
  options: { allowPrivate: boolean; deadlineMs: number },
): Promise<Fetched> => {
  const allowPrivate = options.allowPrivate;
  const lookup: net.LookupFunction = (hostname, options, callback) => {
    dns.lookup(hostname, { all: true }, (error, addresses) => {
      if (error) return callback(error, '', 4);
      const usable = addresses.filter((entry) => allowPrivate || !isPrivateAddress(entry.address));
      const chosen = usable[0];
      if (!chosen)
        return callback(
          Object.assign(new Error(`refusing to fetch ${hostname}: private address`), { code: 'EPRIVATE' }),
          '',
          4,
        );
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, [chosen]);
      return callback(null, chosen.address, chosen.family);
    });
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', stop);
      request.destroy();
      reject(new DomainError('invalid_client', message));
    };
    // The deadline covers everything (DNS, connect, headers, a body dribbled a byte at a time): on abort
    // the socket is destroyed at once, whatever state the exchange is in.
    const stop = () =>
      fail(
        (signal.reason as Stopped | undefined)?.why === 'cancelled'
          ? 'the request was cancelled'
          : `fetching the client metadata document took longer than ${options.deadlineMs / 1_000} s`,
      );
    // agent: false: a fresh connection closed after the answer, no idle socket kept in a pool.
    const request = client.get(
      url,
      { lookup, agent: false, headers: { accept: 'application/json', connection: 'close' } },
      (response) => {
        response.on('error', () => fail('the connection failed while reading the client metadata document'));
        if (response.statusCode !== 200) {
          // Redirects are not followed: the document must live at the client_id itself.
          return fail(`fetching the client metadata document answered ${response.statusCode}`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) fail('the client metadata document is too large');
          else chunks.push(chunk);
        });
        response.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return fail('the client metadata document is not JSON');
          }
          if (settled) return;
          settled = true;
          signal.removeEventListener('abort', stop);
          resolve({ body, ttlMs: cacheTtl(response.headers['cache-control']) });
        });
        response.on('close', () => fail('the connection closed before the client metadata document was complete'));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      fail(
        error.code === 'EPRIVATE'
          ? 'the client metadata document URL points at a private address'
          : `could not fetch the client metadata document (${error.code ?? error.message})`,
      ),
    );
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
};

/** RFC 9111 §5.2.2: no-store / no-cache → do not reuse; max-age → that long (capped); else a default. */
const cacheTtl = (header: string | undefined): number => {
  if (!header) return DEFAULT_TTL_MS;
  if (/(^|,)\s*(no-store|no-cache)\b/i.test(header)) return 0;
  const maxAge = /max-age=(\d+)/i.exec(header)?.[1];
  return maxAge === undefined ? DEFAULT_TTL_MS : Math.min(Number(maxAge) * 1_000, MAX_TTL_MS);
};
