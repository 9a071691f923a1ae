// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): a client_id that is an
// https URL names a JSON document describing the client, fetched through the SSRF guard of cimd-fetch.ts
// and cached per its Cache-Control max-age. A stranger picks the URL and how slow its host is, so
// outbound fetches are bounded: one deadline for the whole exchange, dropped when no request waits any
// more, one fetch per URL however many requests ask, and a cap on fetches at once (beyond it 503 at
// once, and /readyz reports the saturation).
import net from 'node:net';
import { z } from 'zod';
import { DomainError, TemporarilyUnavailableError } from '../../domain/shared.ts';
import { validateClientMetadata, type Client } from '../../domain/clients/index.ts';
import { findUnstorable } from '../../eventstore/storable.ts';
import { fetchDocument, isPrivateAddress, Stopped, type Fetched } from './cimd-fetch.ts';

export { isPrivateAddress } from './cimd-fetch.ts';

const DEADLINE_MS = 5_000;

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
/** One outbound fetch, shared by every request waiting for the same document. */
type SharedFetch = { promise: Promise<Fetched>; waiters: number; controller: AbortController };

export type MetadataDocumentOptions = {
  allowPrivate: boolean;
  /** Outbound fetches at once; one more is refused at once (503), never queued. */
  maxConcurrentFetches: number;
  /** Total time for DNS, connect, headers and body, whatever the server does. */
  deadlineMs?: number;
};

export class MetadataDocuments {
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Map<string, SharedFetch>();
  private fetching = 0;
  private saturatedSince: number | undefined;
  private readonly deadlineMs: number;

  constructor(private readonly options: MetadataDocumentOptions) {
    this.deadlineMs = options.deadlineMs ?? DEADLINE_MS;
  }

  /**
   * The client a metadata document describes (cached per its Cache-Control). `signal`: the HTTP request
   * that needs it; when it goes away this request stops waiting (and the fetch stops if nobody else waits).
   */
  async get(clientId: string, options: { signal?: AbortSignal | undefined } = {}, now = Date.now()): Promise<Client> {
    const cached = this.cache.get(clientId);
    if (cached && cached.until > now) return cached.client;
    const { body, ttlMs } = await this.join(clientId, options.signal);
    const client = this.toClient(clientId, body, now);
    if (ttlMs > 0) this.cache.set(clientId, { client, until: now + ttlMs });
    if (this.cache.size > 1_000) this.cache.delete(this.cache.keys().next().value!);
    return client;
  }

  /** Outbound fetches running, the cap, and how long every slot has been taken (0 when one is free). */
  load(now = Date.now()): { fetching: number; max: number; saturatedForMs: number } {
    return {
      fetching: this.fetching,
      max: this.options.maxConcurrentFetches,
      saturatedForMs: this.saturatedSince === undefined ? 0 : now - this.saturatedSince,
    };
  }

  /** Waits for the document's fetch, starting one unless the same URL is being fetched already. */
  private join(clientId: string, signal: AbortSignal | undefined): Promise<Fetched> {
    if (signal?.aborted) return Promise.reject(cancelled());
    const shared = this.inFlight.get(clientId) ?? this.start(clientId);
    shared.waiters += 1;
    return new Promise<Fetched>((resolve, reject) => {
      const leave = () => {
        shared.waiters -= 1;
        // Abandoned only when nobody waits any more: one waiter going away never stops the others' fetch.
        if (shared.waiters === 0) {
          if (this.inFlight.get(clientId) === shared) this.inFlight.delete(clientId);
          shared.controller.abort(new Stopped('cancelled'));
        }
        reject(cancelled());
      };
      signal?.addEventListener('abort', leave, { once: true });
      shared.promise.then(
        (value) => {
          signal?.removeEventListener('abort', leave);
          resolve(value);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', leave);
          reject(error);
        },
      );
    });
  }

  private start(clientId: string): SharedFetch {
    const url = this.checkedUrl(clientId);
    const max = this.options.maxConcurrentFetches;
    if (this.fetching >= max)
      throw new TemporarilyUnavailableError(
        'too many client metadata documents are being fetched right now; try again in a few seconds',
        Math.ceil(this.deadlineMs / 1_000),
      );
    this.fetching += 1;
    if (this.fetching >= max) this.saturatedSince ??= Date.now();
    const controller = new AbortController();
    const deadline = setTimeout(() => controller.abort(new Stopped('deadline')), this.deadlineMs);
    const shared: SharedFetch = {
      controller,
      waiters: 0,
      promise: fetchDocument(url, controller.signal, {
        allowPrivate: this.options.allowPrivate,
        deadlineMs: this.deadlineMs,
      }).finally(() => {
        clearTimeout(deadline);
        this.fetching -= 1;
        if (this.fetching < max) this.saturatedSince = undefined;
        if (this.inFlight.get(clientId) === shared) this.inFlight.delete(clientId);
      }),
    };
    this.inFlight.set(clientId, shared);
    return shared;
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

  /** The URL to fetch, or invalid_client (a 400 page, never a 500) for anything that is not one. */
  private checkedUrl(clientId: string): URL {
    const invalid = () => new DomainError('invalid_client', 'client_id is not a valid metadata document URL');
    // WHATWG URL refuses an IPv6 zone id ("[fe80::1%25eth0]"), an empty host ("https://") and the like.
    if (!URL.canParse(clientId)) throw invalid();
    const url = new URL(clientId);
    // Draft §3: the URL has a path, no fragment, no credentials, no dot segments.
    if (
      !url.hostname ||
      url.hash ||
      url.username ||
      url.password ||
      url.pathname === '/' ||
      /\/\.\.?(\/|$)/.test(clientId)
    )
      throw invalid();
    // An IP literal skips `lookup`, so check it here.
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(literal) && !this.options.allowPrivate && isPrivateAddress(literal))
      throw new DomainError('invalid_client', 'the client metadata document URL points at a private address');
    return url;
  }
}

const cancelled = () => new DomainError('invalid_client', 'the request was cancelled');
