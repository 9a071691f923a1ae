// The token check /mcp relies on (implemented by the OAuth server in app/oauth/): verify a bearer
// access token for one resource and return who it speaks for. Kept as a port so the MCP layer does
// not depend on how tokens are made.

export type AccessTokenInfo = {
  readonly token: string;
  /** `sub`: the user id (or the client id for client_credentials tokens). */
  readonly subject: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly audience: readonly string[];
  /** `jti` */
  readonly tokenId: string;
  /** `iss` */
  readonly issuer?: string;
  readonly expiresAt: Date;
};

export type InvalidTokenReason =
  'malformed' | 'invalid_signature' | 'expired' | 'revoked' | 'wrong_audience' | 'wrong_issuer';

export class InvalidTokenError extends Error {
  constructor(
    readonly reason: InvalidTokenReason,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

export interface TokenVerifier {
  /**
   * Resolves for a valid, unrevoked token whose `aud` contains `resource` (or another name of the same
   * server: app/public-url.ts); throws InvalidTokenError otherwise.
   */
  verify(token: string, resource: string): Promise<AccessTokenInfo>;
}
