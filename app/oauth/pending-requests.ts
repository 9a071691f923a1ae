// A pending authorization request travels in the browser that started it, not in the log: sealed as a
// compact JWE (dir + A256GCM, key derived from the server secret) so the browser can neither read the PKCE
// challenge, state and nonce nor change any of them, and it expires with the interaction.
import { hkdfSync } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import { z } from 'zod';
import { AuthorizationRequest, type PendingAuthorization } from '../../domain/grants/index.ts';

/** How long the login + consent pages may take. */
export const INTERACTION_TTL_MS = 10 * 60_000;

/** A browser cookie holds at most ~4 KB (RFC 6265 §6.1); a few of them must fit in one request's headers. */
export const MAX_SEALED_LENGTH = 3_000;

export type PendingRequest = PendingAuthorization & {
  /** OIDC Core §3.1.2.1 prompt=consent: ask again even when consent is remembered. */
  readonly forceConsent: boolean;
};

const Sealed = AuthorizationRequest.extend({
  grantId: z.uuid(),
  requestedAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
  forceConsent: z.boolean(),
});

const ENCRYPTION = { alg: 'dir', enc: 'A256GCM' } as const;

export class PendingRequestSeal {
  private readonly key: Uint8Array;

  constructor(secret: Buffer) {
    // A key of its own (RFC 5869 HKDF), so the cookie key never doubles as the HMAC key of sessions or CSRF.
    this.key = new Uint8Array(hkdfSync('sha256', secret, Buffer.alloc(0), 'remotemcp pending authorization', 32));
  }

  async seal(request: PendingRequest): Promise<string> {
    const payload: z.infer<typeof Sealed> = {
      grantId: request.grantId,
      clientId: request.clientId,
      redirectUri: request.redirectUri,
      scopes: [...request.scopes],
      resource: request.resource,
      codeChallenge: request.codeChallenge,
      ...(request.state !== undefined ? { state: request.state } : {}),
      ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      requestedAt: request.requestedAt.toISOString(),
      expiresAt: request.expiresAt.toISOString(),
      forceConsent: request.forceConsent,
    };
    return new EncryptJWT(payload)
      .setProtectedHeader(ENCRYPTION)
      .setExpirationTime(Math.ceil(request.expiresAt.getTime() / 1_000))
      .encrypt(this.key);
  }

  /** The request sealed in `value`, when it is intact, unexpired and the one named `grantId`; else undefined. */
  async open(value: string, grantId: string, now = new Date()): Promise<PendingRequest | undefined> {
    try {
      const { payload } = await jwtDecrypt(value, this.key, {
        currentDate: now,
        keyManagementAlgorithms: [ENCRYPTION.alg],
        contentEncryptionAlgorithms: [ENCRYPTION.enc],
      });
      const parsed = Sealed.safeParse(payload);
      if (!parsed.success || parsed.data.grantId !== grantId) return undefined;
      const { requestedAt, expiresAt, state, nonce, ...rest } = parsed.data;
      if (Date.parse(expiresAt) <= now.getTime()) return undefined;
      return {
        ...rest,
        ...(state !== undefined ? { state } : {}),
        ...(nonce !== undefined ? { nonce } : {}),
        requestedAt: new Date(requestedAt),
        expiresAt: new Date(expiresAt),
      };
    } catch {
      return undefined;
    }
  }
}
