// The `id_token_hint` of RP-Initiated Logout: an ID token this server issued, checked with our own keys.
import { compactVerify, decodeProtectedHeader } from 'jose';
import type { KeyRing } from './keys.ts';

export type IdTokenHint = { subject: string; clientIds: readonly string[] };

/**
 * The subject and audience of `token` when it is an ID token we signed for `issuer`, else undefined.
 * OIDC RP-Initiated Logout 1.0 §2: the OP accepts an expired ID token as the hint, so `exp` is not
 * checked; the signature is, and only keys still published in the JWKS verify it.
 */
export const verifyIdTokenHint = async (
  keys: KeyRing,
  issuer: string,
  token: string,
): Promise<IdTokenHint | undefined> => {
  try {
    const header = decodeProtectedHeader(token);
    // RFC 8725 §3.1 / §3.11: our algorithm only, and an ID token's type, never an access token (at+jwt).
    if (header.alg !== 'ES256' || header.typ !== 'JWT' || typeof header.kid !== 'string') return undefined;
    const key = await keys.verificationKey(header.kid);
    if (!key) return undefined;
    const { payload } = await compactVerify(token, key, { algorithms: ['ES256'] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    if (claims.iss !== issuer || typeof claims.sub !== 'string') return undefined;
    const aud = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];
    const clientIds = aud.filter((value): value is string => typeof value === 'string');
    return clientIds.length ? { subject: claims.sub, clientIds } : undefined;
  } catch {
    return undefined;
  }
};
