// Application service for OAuth clients: registration (RFC 7591, admin/CLI), RFC 7592 management,
// metadata-document clients, and client authentication at the token, revocation and introspection endpoints.
import { randomUUID } from 'node:crypto';
import { clientDecider, clientStream, type Client, type ClientMetadata } from '../../domain/clients/index.ts';
import { DomainError, type Actor } from '../../domain/shared.ts';
import type { CoreServices } from '../core.ts';
import { handleCommand, loadAggregate } from '../handle.ts';
import { isMetadataDocumentId, MetadataDocuments } from './cimd.ts';
import { randomSecret, sameHash, sha256 } from './tokens.ts';
import { idlePublicClientIds, listActiveClients, type ClientRow } from '../../projections/oauth/clients.queries.ts';
import { clientsProjection } from '../../projections/oauth/clients.ts';

export type { ClientRow } from '../../projections/oauth/clients.queries.ts';

/** Unused dynamically registered public clients are deleted after this long (README "OAuth"). */
export const IDLE_CLIENT_MS = 90 * 86_400_000;

export type RegisteredClient = {
  client: Client;
  clientSecret: string | undefined;
  registrationAccessToken: string | undefined;
};

/** How a caller presented its credentials (RFC 6749 §2.3). */
export type ClientCredentials = {
  clientId: string;
  secret: string | undefined;
  method: 'none' | 'client_secret_basic' | 'client_secret_post';
};

/** The error_description of each way client authentication fails (all invalid_client, RFC 6749 §5.2). */
export const CLIENT_AUTH_FAILURES = {
  unknownClient: 'no client is registered with this client_id',
  wrongSecret: 'the client secret is wrong',
  publicWithSecret: 'this client is public: send its client_id alone, without a client_secret',
  secretMissing: 'this client has a secret: send it by client_secret_basic or client_secret_post',
} as const;

/**
 * How long a registered client, once read from its stream, answers lookups without another read. Every
 * token request looks its client up. A change made through this process (any append to a client stream,
 * here or by a command of this instance) drops the entry at once; one made by another instance (or the
 * CLI) is seen within this time, as the verifier's revocation cache does (app/oauth/verifier.ts).
 */
export const CLIENT_CACHE_MS = 500;
const CLIENT_CACHE_MAX = 10_000;
const CLIENT_STREAM_PREFIX = clientStream('');

export class Clients {
  readonly documents: MetadataDocuments;
  private readonly cache = new Map<string, { client: Client; readAt: number }>();
  /** CLIENT_CACHE_MS; tests that count reads widen it, so a slow machine does not expire an entry. */
  cacheMs = CLIENT_CACHE_MS;
  private readonly reading = new Map<string, { epoch: number; client: Promise<Client | undefined> }>();
  /** Moves on every local append to a client stream: a read that overlapped one is not cached. */
  private epoch = 0;

  constructor(private readonly core: CoreServices) {
    this.documents = new MetadataDocuments({
      allowPrivate: core.config.dangerouslyAllowPrivateCimd,
      maxConcurrentFetches: core.config.cimdMaxConcurrentFetches,
    });
    core.appends.on('append', (stream: string) => {
      if (!stream.startsWith(CLIENT_STREAM_PREFIX)) return;
      this.epoch += 1;
      this.cache.delete(stream.slice(CLIENT_STREAM_PREFIX.length));
    });
  }

  async register(
    metadata: ClientMetadata,
    source: 'dynamic' | 'admin',
    actor: Actor,
    now = new Date(),
    serviceUserId?: string,
  ): Promise<RegisteredClient> {
    const clientId = randomUUID();
    const clientSecret = metadata.tokenEndpointAuthMethod === 'none' ? undefined : randomSecret();
    const registrationAccessToken = source === 'dynamic' ? randomSecret() : undefined;
    const result = await handleCommand(
      this.core.log,
      clientStream(clientId),
      clientDecider,
      {
        type: 'RegisterClient',
        clientId,
        metadata,
        source,
        ...(clientSecret ? { secretHash: sha256(clientSecret) } : {}),
        ...(registrationAccessToken ? { registrationTokenHash: sha256(registrationAccessToken) } : {}),
        ...(serviceUserId ? { serviceUserId } : {}),
        now,
      },
      { actor },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [clientsProjection] });
    if (result.state.status !== 'active') throw new Error('client not registered');
    return { client: result.state, clientSecret, registrationAccessToken };
  }

  /**
   * A client by id: a registered one (from its stream), or a metadata document for URL ids. `signal`:
   * the HTTP request asking, so a document fetch stops waiting when it goes away.
   */
  async find(clientId: string, options: { signal?: AbortSignal | undefined } = {}): Promise<Client | undefined> {
    if (isMetadataDocumentId(clientId, this.core.config.dangerouslyAllowPrivateCimd))
      return this.documents.get(clientId, options);
    if (!/^[\w-]{1,100}$/.test(clientId)) return undefined;
    const started = Date.now();
    const hit = this.cache.get(clientId);
    if (hit && started - hit.readAt < this.cacheMs) return hit.client;
    // Requests that miss together share one read (a busy client's entry expires under many at once);
    // one that starts after a local change to a client does not join a read from before it.
    const epoch = this.epoch;
    const pending = this.reading.get(clientId);
    if (pending?.epoch === epoch) return pending.client;
    const client = this.read(clientId, epoch, started);
    this.reading.set(clientId, { epoch, client });
    try {
      return await client;
    } finally {
      if (this.reading.get(clientId)?.client === client) this.reading.delete(clientId);
    }
  }

  private async read(clientId: string, epoch: number, started: number): Promise<Client | undefined> {
    const { state } = await loadAggregate(this.core.log, clientStream(clientId), clientDecider);
    if (state.status !== 'active') return undefined;
    // Only registered clients are kept: one registered elsewhere a moment ago is found at once.
    if (epoch === this.epoch) {
      if (this.cache.size >= CLIENT_CACHE_MAX) this.cache.clear();
      this.cache.set(clientId, { client: state, readAt: started });
    }
    return state;
  }

  /** RFC 7592 §2: the registration access token authorizes reading, updating and deleting the client. */
  async forManagement(clientId: string, registrationToken: string | undefined): Promise<Client> {
    const client = /^[\w-]{1,100}$/.test(clientId) ? await this.find(clientId) : undefined;
    if (
      !client ||
      !client.registrationTokenHash ||
      !registrationToken ||
      !sameHash(sha256(registrationToken), client.registrationTokenHash)
    ) {
      throw new DomainError('invalid_token', 'the registration access token is not valid for this client');
    }
    return client;
  }

  async update(clientId: string, metadata: ClientMetadata, actor: Actor, now = new Date()): Promise<Client> {
    const result = await handleCommand(
      this.core.log,
      clientStream(clientId),
      clientDecider,
      { type: 'UpdateClient', metadata, now },
      { actor },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [clientsProjection] });
    if (result.state.status !== 'active') throw new DomainError('client_not_found', 'no such client');
    return result.state;
  }

  async delete(
    clientId: string,
    actor: Actor,
    now = new Date(),
    reason: 'requested' | 'idle' = 'requested',
  ): Promise<boolean> {
    if (!/^[\w-]{1,100}$/.test(clientId)) return false;
    const result = await handleCommand(
      this.core.log,
      clientStream(clientId),
      clientDecider,
      { type: 'DeleteClient', reason, now },
      { actor },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [clientsProjection] });
    return result.events.length > 0;
  }

  /** Admin/CLI: lets a confidential client introspect other clients' tokens (RFC 7662 §4), or stops it. */
  async setResourceServer(clientId: string, resourceServer: boolean, actor: Actor, now = new Date()): Promise<boolean> {
    if (!/^[\w-]{1,100}$/.test(clientId)) throw new DomainError('client_not_found', 'no such client');
    const result = await handleCommand(
      this.core.log,
      clientStream(clientId),
      clientDecider,
      { type: 'SetResourceServer', resourceServer, now },
      { actor },
    );
    await this.core.projections.waitFor(result.appended?.position, { projections: [clientsProjection] });
    return result.events.length > 0;
  }

  /**
   * Dynamically registered public clients nobody uses pile up (anyone may register): those older than
   * `idleMs` with no grant used within `idleMs` and no live refresh token are deleted (reason idle).
   */
  async expireIdle(now = new Date(), idleMs = IDLE_CLIENT_MS): Promise<string[]> {
    const cutoff = new Date(now.getTime() - idleMs);
    const expired: string[] = [];
    for (const clientId of await idlePublicClientIds(this.core.db, cutoff, now))
      if (await this.delete(clientId, { type: 'system', id: 'idle-clients' }, now, 'idle')) expired.push(clientId);
    return expired;
  }

  async list(): Promise<ClientRow[]> {
    return listActiveClients(this.core.db);
  }

  /**
   * RFC 6749 §2.3.1: a client with a secret may send it by HTTP Basic or in the form, whichever it was
   * registered with (libraries pick their own default: openid-client posts it). A public client sends
   * its client_id alone. Throws invalid_client naming what was wrong (the HTTP layer adds 401 and, for
   * Basic, WWW-Authenticate). An unknown client and a wrong secret get different messages on purpose:
   * RFC 6749 §2.2 says a client_id is no secret, /oauth/authorize already tells an unknown one apart,
   * and secret guessing is throttled per client and address.
   */
  async authenticate(
    credentials: ClientCredentials,
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<Client> {
    let client: Client | undefined;
    try {
      client = await this.find(credentials.clientId, options);
    } catch (error) {
      if (error instanceof DomainError) throw new DomainError('invalid_client', error.message);
      throw error;
    }
    if (!client) throw new DomainError('invalid_client', CLIENT_AUTH_FAILURES.unknownClient);
    if (client.tokenEndpointAuthMethod === 'none') {
      if (credentials.method !== 'none') throw new DomainError('invalid_client', CLIENT_AUTH_FAILURES.publicWithSecret);
      return client;
    }
    if (credentials.method === 'none' || credentials.secret === undefined)
      throw new DomainError('invalid_client', CLIENT_AUTH_FAILURES.secretMissing);
    if (!client.secretHash || !sameHash(sha256(credentials.secret), client.secretHash))
      throw new DomainError('invalid_client', CLIENT_AUTH_FAILURES.wrongSecret);
    return client;
  }
}
