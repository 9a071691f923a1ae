// Token material: opaque secrets (codes, refresh tokens, client secrets) and signed JWTs (RFC 9068
// access tokens, OIDC id_tokens).
import { createHash, randomBytes, randomUUID, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { KeyRing } from './keys.ts';

export const randomSecret = (): string => randomBytes(32).toString('base64url');
/** SHA-256, base64url. Our secrets have 256 bits of entropy, so a fast hash is enough to store them. */
export const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');
export const sameHash = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** Codes and refresh tokens are `<grantId>.<secret>`: the grant stream they belong to, plus the secret. */
export const grantToken = (grantId: string): { token: string; hash: string } => {
  const token = `${grantId}.${randomSecret()}`;
  return { token, hash: sha256(token) };
};
export const grantIdOf = (token: string): string | undefined => {
  const match = /^([0-9a-f-]{36})\.[\w-]{43}$/.exec(token);
  return match?.[1];
};

/** Access token ids carry the grant id too: `<grantId>.<random>` (revocation finds the stream). */
export const newAccessTokenId = (grantId: string): string => `${grantId}.${randomUUID()}`;
export const grantIdOfTokenId = (jti: string): string | undefined => /^([0-9a-f-]{36})\.[0-9a-f-]{36}$/.exec(jti)?.[1];

const seconds = (date: Date) => Math.floor(date.getTime() / 1_000);

export type AccessTokenClaims = {
  issuer: string;
  audience: string;
  subject: string;
  clientId: string;
  scopes: readonly string[];
  jti: string;
  issuedAt: Date;
  expiresAt: Date;
};

const encoded = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * RFC 7515 §7.1 compact serialization, ES256. node:crypto signs on the cached KeyObject in one call,
 * about half the CPU of jose's path through WebCrypto's job queue; RFC 7518 §3.4 wants R || S (64
 * bytes), not DER: `dsaEncoding: 'ieee-p1363'`.
 */
const signEs256 = (header: Record<string, unknown>, payload: Record<string, unknown>, key: KeyObject): string => {
  const input = `${encoded({ alg: 'ES256', ...header })}.${encoded(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
};

/** RFC 9068 §2: JWT access token, header `typ: at+jwt`; claims iss, exp, aud, sub, client_id, iat, jti, scope. */
export const signAccessToken = async (keys: KeyRing, claims: AccessTokenClaims): Promise<string> => {
  const { kid, key } = await keys.signingKey();
  return signEs256(
    { typ: 'at+jwt', kid },
    {
      client_id: claims.clientId,
      scope: claims.scopes.join(' '),
      iss: claims.issuer,
      aud: claims.audience,
      sub: claims.subject,
      jti: claims.jti,
      iat: seconds(claims.issuedAt),
      exp: seconds(claims.expiresAt),
    },
    key,
  );
};

export type IdTokenClaims = {
  issuer: string;
  subject: string;
  clientId: string;
  issuedAt: Date;
  expiresAt: Date;
  authTime: Date | undefined;
  nonce: string | undefined;
  extra: Record<string, unknown>;
};

/** OIDC Core §2 / §3.1.3.6: iss, sub, aud = client_id, exp, iat, auth_time, nonce (when sent). */
export const signIdToken = async (keys: KeyRing, claims: IdTokenClaims): Promise<string> => {
  const { kid, key } = await keys.signingKey();
  return signEs256(
    { typ: 'JWT', kid },
    {
      ...claims.extra,
      ...(claims.authTime ? { auth_time: seconds(claims.authTime) } : {}),
      ...(claims.nonce !== undefined ? { nonce: claims.nonce } : {}),
      iss: claims.issuer,
      aud: claims.clientId,
      sub: claims.subject,
      iat: seconds(claims.issuedAt),
      exp: seconds(claims.expiresAt),
    },
    key,
  );
};
