// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
// https URL names a JSON document describing the client. Fetching a URL chosen by a stranger is an
// SSRF risk, hence: resolve DNS ourselves and refuse private, loopback and link-local addresses (unless
// DANGEROUSLY_ALLOW_PRIVATE_CIMD), connect only to the address we checked (no DNS rebinding), no
// redirects, a size limit and a timeout. Documents are cached per their Cache-Control max-age.
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { z } from 'zod';
import { DomainError } from '../../domain/shared.ts';
import { validateClientMetadata, type Client } from '../../domain/clients/index.ts';
import { findUnstorable } from '../../eventstore/storable.ts';

const MAX_BYTES = 5 * 1024; // the draft's recommended ceiling
const TIMEOUT_MS = 5_000;
const DEFAULT_TTL_MS = 5 * 60_000;
const MAX_TTL_MS = 24 * 3_600_000;

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

const Document = z.object({
  client_id: z.string(),
  client_name: z.string().max(200).optional(),
  client_uri: z.string().optional(),
  logo_uri: z.string().optional(),
  redirect_uris: z.array(z.string()).min(1),
  grant_types: z.array(z.enum(['authorization_code', 'refresh_token'])).optional(),
  response_types: z.array(z.literal('code')).optional(),
  // No secret can be shared through a public document: only public clients (private_key_jwt is not supported here).
  token_endpoint_auth_method: z.literal('none').optional(),
  application_type: z.enum(['web', 'native']).optional(),
  scope: z.string().optional(),
});

/** Is this client_id a metadata-document URL? (https with a path; http only when private fetches are allowed, for tests.) */
export const isMetadataDocumentId = (clientId: string, allowPrivate: boolean): boolean =>
  /^https:\/\//.test(clientId) || (allowPrivate && /^http:\/\//.test(clientId));

type Cached = { client: Client; until: number };

export class MetadataDocuments {
  private readonly cache = new Map<string, Cached>();

  constructor(private readonly options: { allowPrivate: boolean }) {}

  async get(clientId: string, now = Date.now()): Promise<Client> {
    const cached = this.cache.get(clientId);
    if (cached && cached.until > now) return cached.client;
    const { body, ttlMs } = await this.fetchDocument(clientId);
    const client = this.toClient(clientId, body, now);
    if (ttlMs > 0) this.cache.set(clientId, { client, until: now + ttlMs });
    if (this.cache.size > 1_000) this.cache.delete(this.cache.keys().next().value!);
    return client;
  }

  private toClient(clientId: string, body: unknown, now: number): Client {
    const parsed = Document.safeParse(body);
    if (!parsed.success)
      throw new DomainError(
        'invalid_client',
        `the client metadata document is invalid: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`,
      );
    const doc = parsed.data;
    // Its text is shown at consent and kept in events: U+0000 and unpaired surrogates cannot be stored.
    const unstorable = findUnstorable(doc);
    if (unstorable !== undefined)
      throw new DomainError(
        'invalid_client',
        `the client metadata document is invalid: ${unstorable.slice(2)} holds U+0000 or an unpaired surrogate`,
      );
    if (doc.client_id !== clientId)
      throw new DomainError('invalid_client', 'the client metadata document names a different client_id');
    const grantTypes = doc.grant_types ?? ['authorization_code', 'refresh_token'];
    const client: Client = {
      clientId,
      clientName: doc.client_name ?? new URL(clientId).host,
      redirectUris: doc.redirect_uris,
      grantTypes,
      tokenEndpointAuthMethod: 'none',
      applicationType: doc.application_type ?? 'web',
      ...(doc.scope ? { scope: doc.scope } : {}),
      ...(doc.client_uri ? { clientUri: doc.client_uri } : {}),
      ...(doc.logo_uri ? { logoUri: doc.logo_uri } : {}),
      source: 'metadata_document',
      createdAt: new Date(now).toISOString(),
    };
    try {
      validateClientMetadata(client);
    } catch (error) {
      throw new DomainError('invalid_client', `the client metadata document is invalid: ${(error as Error).message}`);
    }
    return client;
  }

  private fetchDocument(clientId: string): Promise<{ body: unknown; ttlMs: number }> {
    const url = new URL(clientId);
    // Draft §3: the URL has a path, no fragment, no credentials, no dot segments.
    if (url.hash || url.username || url.password || url.pathname === '/' || /\/\.\.?(\/|$)/.test(clientId)) {
      return Promise.reject(new DomainError('invalid_client', 'client_id is not a valid metadata document URL'));
    }
    const allowPrivate = this.options.allowPrivate;
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
    // An IP literal skips `lookup`, so check it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal) && !allowPrivate && isPrivateAddress(literal)) {
      return Promise.reject(
        new DomainError('invalid_client', 'the client metadata document URL points at a private address'),
      );
    }
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const fail = (message: string) => reject(new DomainError('invalid_client', message));
      const request = client.get(
        url,
        { lookup, timeout: TIMEOUT_MS, headers: { accept: 'application/json' } },
        (response) => {
          if (response.statusCode !== 200) {
            response.resume();
            // Redirects are not followed: the document must live at the client_id itself.
            return fail(`fetching the client metadata document answered ${response.statusCode}`);
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BYTES) {
              request.destroy();
              fail('the client metadata document is too large');
            } else chunks.push(chunk);
          });
          response.on('end', () => {
            try {
              resolve({
                body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
                ttlMs: cacheTtl(response.headers['cache-control']),
              });
            } catch {
              fail('the client metadata document is not JSON');
            }
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', (error: NodeJS.ErrnoException) =>
        fail(
          error.code === 'EPRIVATE'
            ? 'the client metadata document URL points at a private address'
            : `could not fetch the client metadata document (${error.code ?? error.message})`,
        ),
      );
    });
  }
}

/** RFC 9111 §5.2.2: no-store / no-cache → do not reuse; max-age → that long (capped); else a default. */
const cacheTtl = (header: string | undefined): number => {
  if (!header) return DEFAULT_TTL_MS;
  if (/(^|,)\s*(no-store|no-cache)\b/i.test(header)) return 0;
  const maxAge = /max-age=(\d+)/i.exec(header)?.[1];
  return maxAge === undefined ? DEFAULT_TTL_MS : Math.min(Number(maxAge) * 1_000, MAX_TTL_MS);
};
