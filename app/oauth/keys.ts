// Signing keys: ES256 keys generated here and kept in the `oauth-keys` stream (private JWK inside the
// event, so every instance and restart signs with the same key; `events export` therefore contains
// private key material — treat exports as secrets). Retired keys stay in the JWKS until every token
// they signed has expired.
import { createPrivateKey, randomUUID, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { activeKey, keyDecider, KEYS_STREAM, type KeyState, type SigningKey } from '../../domain/keys/index.ts';
import { SYSTEM, type Actor } from '../../domain/shared.ts';
import type { EventLog } from '../../eventstore/port.ts';
import { handleCommand, loadAggregate } from '../handle.ts';

const ALG = 'ES256';
/** Other instances' rotations are picked up at least this often (and on an unknown kid). */
const RELOAD_MS = 60_000;

export type KeyRingOptions = { log: EventLog; publishForMs: number };

export class KeyRing {
  private state: KeyState = { keys: [] };
  private loadedAt = 0;
  private imported = new Map<string, Promise<CryptoKey>>();
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(private readonly options: KeyRingOptions) {}

  private async generate(): Promise<Omit<SigningKey, 'addedAt' | 'retiredAt'>> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: ALG };
    return { kid, alg: ALG, publicJwk, privateJwk };
  }

  /**
   * Adds the first key on a fresh log. Lazy (first signature or JWKS request), so `events import` into
   * a fresh store restores the exported keys instead of racing a new one.
   */
  private async ensure(now = new Date()): Promise<void> {
    if (!activeKey(this.state)) {
      const result = await handleCommand(
        this.options.log,
        KEYS_STREAM,
        keyDecider,
        { type: 'EnsureSigningKey', key: await this.generate(), now },
        { actor: SYSTEM },
      );
      this.state = result.state;
    }
  }

  async reload(): Promise<void> {
    this.state = (await loadAggregate(this.options.log, KEYS_STREAM, keyDecider)).state;
    this.loadedAt = Date.now();
  }

  private async fresh(): Promise<KeyState> {
    if (Date.now() - this.loadedAt > RELOAD_MS) await this.reload();
    if (!activeKey(this.state)) await this.ensure();
    return this.state;
  }

  /** Adds a new signing key and retires the current one (CLI `keys rotate`). Returns the new kid. */
  async rotate(actor: Actor, now = new Date()): Promise<string> {
    const key = await this.generate();
    const result = await handleCommand(
      this.options.log,
      KEYS_STREAM,
      keyDecider,
      { type: 'RotateSigningKey', key, now },
      { actor },
    );
    this.state = result.state;
    return key.kid;
  }

  private importKey(key: SigningKey, which: 'publicJwk' | 'privateJwk'): Promise<CryptoKey> {
    const cacheKey = `${key.kid}:${which}`;
    let imported = this.imported.get(cacheKey);
    if (!imported) {
      imported = importJWK(key[which] as JWK, ALG) as Promise<CryptoKey>;
      this.imported.set(cacheKey, imported);
    }
    return imported;
  }

  /** The active key as a node:crypto KeyObject (app/oauth/tokens.ts signs with node:crypto), made once per kid. */
  async signingKey(): Promise<{ kid: string; key: KeyObject }> {
    const active = activeKey(await this.fresh());
    if (!active) throw new Error('no active signing key');
    let key = this.privateKeys.get(active.kid);
    if (!key) {
      key = createPrivateKey({ key: active.privateJwk as JsonWebKeyInput['key'], format: 'jwk' });
      this.privateKeys.set(active.kid, key);
    }
    return { kid: active.kid, key };
  }

  private published(state: KeyState, now: number): SigningKey[] {
    return state.keys.filter(
      (key) => key.retiredAt === undefined || Date.parse(key.retiredAt) + this.options.publishForMs > now,
    );
  }

  /** The public JWKS (`/oauth/jwks`): the active key and retired keys whose tokens may still be live. */
  async jwks(now = Date.now()): Promise<{ keys: Record<string, unknown>[] }> {
    return { keys: this.published(await this.fresh(), now).map((key) => key.publicJwk) };
  }

  /** The verification key for `kid`, or undefined (an unknown kid triggers one reload, at most every second). */
  async verificationKey(kid: string, now = Date.now()): Promise<CryptoKey | undefined> {
    let key = this.published(await this.fresh(), now).find((candidate) => candidate.kid === kid);
    if (!key && Date.now() - this.loadedAt > 1_000) {
      await this.reload();
      key = this.published(this.state, now).find((candidate) => candidate.kid === kid);
    }
    return key ? this.importKey(key, 'publicJwk') : undefined;
  }

  list(): readonly SigningKey[] {
    return this.state.keys;
  }
}
