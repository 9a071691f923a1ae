// The token check /mcp relies on: RFC 9068 §4 validation with jose (ES256 only, typ at+jwt, our issuer,
// the resource as audience, a key from our JWKS), then the revocation read model. Revocations made on
// this instance are visible at once (the revoker waits for the projection); other instances see them
// when their projection runner has applied the event (polling, well under a second).
//
// A short cache of positive answers (CACHE_MS) keeps the revocation lookup off the hot path of /mcp.
// It cannot hide a revocation made here: any local append of a revoking event empties it and turns it
// off for BYPASS_MS (answers computed before that moment are never stored). Elsewhere, a revocation is
// refused after at most CACHE_MS + the projection lag (within 1 s on every instance).
// Requests that find no fresh answer at the same moment (every connection of a client, once the cache
// entry lapses) share one check instead of each verifying the signature and reading the read model.
import { decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { Queryable } from '../../db/database.ts';
import { InvalidTokenError, type AccessTokenInfo, type TokenVerifier } from '../auth-port.ts';
import type { KeyRing } from './keys.ts';
import type { Config } from '../config.ts';
import { sameServer } from '../public-url.ts';
import { mcpResource } from './authorizations.ts';
import { accessTokenStanding } from '../../projections/oauth/grants.queries.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CACHE_MS = 400;
const BYPASS_MS = 3_000;
const CACHE_MAX = 10_000;
/** Event types after which a cached "valid" answer may be wrong. */
export const REVOKING_EVENT =
  /Revoked$|^UserDisabled$|^UserPasswordChanged$|^UserRolesChanged$|^ClientDeleted$|^SigningKeyRetired$/;

export class JwtTokenVerifier implements TokenVerifier {
  private readonly cache = new Map<string, { info: AccessTokenInfo; checkedAt: number }>();
  /** Checks in flight by cache key, each with the epoch it started in (see verify). */
  private readonly checking = new Map<string, { epoch: number; check: Promise<AccessTokenInfo> }>();
  private epoch = 0;
  private bypassUntil = 0;

  constructor(
    private readonly keys: KeyRing,
    private readonly db: Queryable,
    private readonly config: Config,
  ) {}

  /** Forget every cached answer and stop caching for a while (a revocation was just appended here). */
  invalidate(): void {
    this.epoch += 1;
    this.cache.clear();
    this.bypassUntil = Date.now() + BYPASS_MS;
  }

  async verify(token: string, resource: string): Promise<AccessTokenInfo> {
    const key = `${resource} ${token}`;
    const started = Date.now();
    const hit = this.cache.get(key);
    if (
      hit &&
      started - hit.checkedAt < CACHE_MS &&
      started >= this.bypassUntil &&
      hit.info.expiresAt.getTime() > started
    )
      return hit.info;
    const epoch = this.epoch;
    // A check that started before an invalidation may have read the revoked token as valid: not shared.
    const shared = this.checking.get(key);
    if (shared && shared.epoch === epoch) return shared.check;
    const check = this.check(token, resource);
    const entry = { epoch, check };
    this.checking.set(key, entry);
    try {
      const info = await check;
      if (epoch === this.epoch && Date.now() >= this.bypassUntil) {
        if (this.cache.size >= CACHE_MAX) this.cache.clear();
        this.cache.set(key, { info, checkedAt: started });
      }
      return info;
    } finally {
      if (this.checking.get(key) === entry) this.checking.delete(key);
    }
  }

  private async check(token: string, resource: string): Promise<AccessTokenInfo> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError('malformed', 'the token is not a JWT');
    }
    // RFC 8725 §3.1: never let the token choose the algorithm (no `none`, no HS256 with our public key).
    if (header.alg !== 'ES256' || typeof header.kid !== 'string')
      throw new InvalidTokenError('invalid_signature', 'unsupported token algorithm or missing kid');
    const key = await this.keys.verificationKey(header.kid);
    if (!key) throw new InvalidTokenError('invalid_signature', 'unknown signing key');
    // Our issuer, and the resource as audience. With PUBLIC_URL unset the loopback origins of one port are
    // one server: a token issued as http://localhost:P is good at http://127.0.0.1:P/mcp and [::1].
    const issuers = sameServer(this.config, resource.replace(/\/mcp$/, ''));
    const names = issuers.map(mcpResource);
    let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['ES256'],
        typ: 'at+jwt',
        issuer: issuers,
        audience: names.includes(resource) ? names : [resource],
        requiredClaims: ['exp', 'sub', 'jti', 'client_id', 'iat'],
      }));
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new InvalidTokenError('expired', 'the token has expired');
      if (error instanceof errors.JWTClaimValidationFailed) {
        if (error.claim === 'iss') throw new InvalidTokenError('wrong_issuer', 'the token was issued by someone else');
        if (error.claim === 'aud') throw new InvalidTokenError('wrong_audience', 'the token is for another resource');
        throw new InvalidTokenError('malformed', `invalid claim ${error.claim}`);
      }
      throw new InvalidTokenError('invalid_signature', 'the token signature is invalid');
    }
    const jti = String(payload.jti);
    const subject = String(payload.sub);
    const row = await accessTokenStanding(
      this.db,
      jti,
      // (A subject that is not a UUID names no user: NULL, and the primary key is used, not a scan.)
      UUID.test(subject) ? subject : null,
      String(payload.client_id),
    );
    if (row?.revoked) throw new InvalidTokenError('revoked', 'the token was revoked');
    // A tool runs on behalf of a user the server knows: a token whose `sub` names no user (such as a
    // client_credentials token from before machine clients had a service user) is refused.
    if (row?.user_status !== 'active')
      throw new InvalidTokenError(
        'revoked',
        row?.user_status ? 'the user is disabled' : 'the token names no known user',
      );
    if (row.stale)
      throw new InvalidTokenError('revoked', "the token was issued before the user's password change or disable");
    if (row?.client_status === 'deleted') throw new InvalidTokenError('revoked', 'the client was deleted');
    const audience = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
    return {
      token,
      subject,
      clientId: String(payload.client_id),
      scopes: typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [],
      audience,
      tokenId: jti,
      issuer: String(payload.iss),
      expiresAt: new Date((payload.exp ?? 0) * 1_000),
    };
  }
}
