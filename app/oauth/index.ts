// The OAuth 2.1 / OpenID Connect authorization server's application layer (issue 4).
// Placeholder until it lands: refuses every token.
import type { CoreServices } from '../services.ts';
import { InvalidTokenError, type TokenVerifier } from '../auth-port.ts';

export type OAuth = { readonly verifier: TokenVerifier; close(): Promise<void> };

export const createOAuth = async (_core: CoreServices): Promise<OAuth> => ({
  verifier: {
    verify: async () => {
      throw new InvalidTokenError('invalid_signature', 'the authorization server is not configured');
    },
  },
  close: async () => undefined,
});
