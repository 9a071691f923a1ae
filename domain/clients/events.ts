import { z } from 'zod';

export const AuthMethod = z.enum(['none', 'client_secret_basic', 'client_secret_post']);
export type AuthMethod = z.infer<typeof AuthMethod>;
export const GrantType = z.enum(['authorization_code', 'refresh_token', 'client_credentials']);
export type GrantType = z.infer<typeof GrantType>;

export const ClientMetadata = z.object({
  clientName: z.string(),
  redirectUris: z.array(z.string()),
  grantTypes: z.array(GrantType),
  tokenEndpointAuthMethod: AuthMethod,
  applicationType: z.enum(['web', 'native']),
  scope: z.string().optional(),
  clientUri: z.string().optional(),
  logoUri: z.string().optional(),
  /** OIDC RP-Initiated Logout 1.0 §3.1; absent in clients registered before logout existed. */
  postLogoutRedirectUris: z.array(z.string()).optional(),
});
export type ClientMetadata = z.infer<typeof ClientMetadata>;

export const ClientEvent = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('ClientRegistered'),
    data: ClientMetadata.extend({
      clientId: z.string(),
      source: z.enum(['dynamic', 'admin']),
      /** SHA-256 of the client secret (confidential clients); the secret itself is shown once. */
      secretHash: z.string().optional(),
      /** SHA-256 of the RFC 7592 registration access token. */
      registrationTokenHash: z.string().optional(),
      /**
       * The service user a machine client (client_credentials) acts for; its tokens carry it as `sub`.
       * Absent in clients registered before machine clients were bound to users: those get no tokens.
       */
      serviceUserId: z.string().optional(),
      at: z.string(),
    }),
  }),
  z.object({ type: z.literal('ClientUpdated'), data: ClientMetadata.extend({ clientId: z.string(), at: z.string() }) }),
  z.object({
    type: z.literal('ClientDeleted'),
    data: z.object({ clientId: z.string(), reason: z.enum(['requested', 'idle']).optional(), at: z.string() }),
  }),
  /** An admin lets (or stops letting) this client introspect tokens issued to other clients (RFC 7662 §4). */
  z.object({
    type: z.literal('ClientResourceServerSet'),
    data: z.object({ clientId: z.string(), resourceServer: z.boolean(), at: z.string() }),
  }),
]);
export type ClientEvent = z.infer<typeof ClientEvent>;
