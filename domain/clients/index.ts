// The client aggregate: stream `oauth-client-<clientId>`. Registered by RFC 7591 dynamic registration
// or by an admin (confidential, secret shown once); managed per RFC 7592; deleted.
import { DomainError, assertNever, type Decider } from '../shared.ts';
import { ClientEvent, type ClientMetadata } from './events.ts';
import { redirectUriProblem } from './redirects.ts';

export { ClientEvent, ClientMetadata, AuthMethod, GrantType } from './events.ts';
export { redirectUriProblem, matchesRegisteredRedirect, isLoopbackHost } from './redirects.ts';

export const clientStream = (clientId: string): string => `oauth-client-${clientId}`;

export type Client = ClientMetadata & {
  readonly clientId: string;
  readonly source: 'dynamic' | 'admin' | 'metadata_document';
  readonly secretHash?: string | undefined;
  readonly registrationTokenHash?: string | undefined;
  readonly serviceUserId?: string | undefined;
  /** Marked by an admin: may introspect every client's tokens (RFC 7662 §4). */
  readonly resourceServer?: boolean | undefined;
  readonly createdAt: string;
};

export type ClientState =
  { readonly status: 'absent' } | { readonly status: 'deleted' } | ({ readonly status: 'active' } & Client);

export type ClientCommand =
  | {
      type: 'RegisterClient';
      clientId: string;
      metadata: ClientMetadata;
      source: 'dynamic' | 'admin';
      secretHash?: string;
      registrationTokenHash?: string;
      serviceUserId?: string;
      now: Date;
    }
  | { type: 'UpdateClient'; metadata: ClientMetadata; now: Date }
  | { type: 'DeleteClient'; reason?: 'requested' | 'idle'; now: Date }
  | { type: 'SetResourceServer'; resourceServer: boolean; now: Date };

/** Rules every client's metadata obeys, whoever registers it (also applied to metadata documents). */
export const validateClientMetadata = (metadata: ClientMetadata): void => {
  const needsRedirect = metadata.grantTypes.includes('authorization_code');
  if (needsRedirect && metadata.redirectUris.length === 0)
    throw new DomainError('invalid_redirect_uri', 'redirect_uris is required for the authorization_code grant');
  for (const uri of metadata.redirectUris) {
    const problem = redirectUriProblem(uri, metadata.applicationType);
    if (problem)
      throw new DomainError('invalid_redirect_uri', `redirect URI ${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  }
  // RP-Initiated Logout 1.0 §3.1: post-logout redirect URIs follow the rules of redirect_uris.
  for (const uri of metadata.postLogoutRedirectUris ?? []) {
    const problem = redirectUriProblem(uri, metadata.applicationType);
    if (problem)
      throw new DomainError(
        'invalid_client_metadata',
        `post-logout redirect URI ${JSON.stringify(uri.slice(0, 200))} ${problem}`,
      );
  }
  if (metadata.grantTypes.includes('client_credentials') && metadata.tokenEndpointAuthMethod === 'none') {
    throw new DomainError(
      'invalid_client_metadata',
      'client_credentials needs a confidential client (token_endpoint_auth_method other than none)',
    );
  }
  if (metadata.grantTypes.includes('refresh_token') && !metadata.grantTypes.some((g) => g !== 'refresh_token')) {
    throw new DomainError('invalid_client_metadata', 'refresh_token needs another grant type');
  }
};

export const decideClient = (command: ClientCommand, state: ClientState): ClientEvent[] => {
  const at = command.now.toISOString();
  switch (command.type) {
    case 'RegisterClient': {
      if (state.status !== 'absent') throw new DomainError('client_exists', 'a client with this id already exists');
      validateClientMetadata(command.metadata);
      const confidential = command.metadata.tokenEndpointAuthMethod !== 'none';
      if (confidential !== (command.secretHash !== undefined))
        throw new DomainError('invalid_client_metadata', 'a secret goes with confidential clients only');
      // A tool runs on behalf of a user the server knows: client_credentials is for machine clients an
      // admin binds to a service user, never for open registration (RFC 7591 §3.2.2 invalid_client_metadata).
      const machine = command.metadata.grantTypes.includes('client_credentials');
      if (machine && (command.source !== 'admin' || command.serviceUserId === undefined))
        throw new DomainError(
          'invalid_client_metadata',
          'client_credentials is only for machine clients an admin creates for a service user',
        );
      if (!machine && command.serviceUserId !== undefined)
        throw new DomainError('invalid_client_metadata', 'only a client_credentials client is bound to a service user');
      return [
        {
          type: 'ClientRegistered',
          data: {
            ...command.metadata,
            clientId: command.clientId,
            source: command.source,
            ...(command.secretHash ? { secretHash: command.secretHash } : {}),
            ...(command.registrationTokenHash ? { registrationTokenHash: command.registrationTokenHash } : {}),
            ...(command.serviceUserId ? { serviceUserId: command.serviceUserId } : {}),
            at,
          },
        },
      ];
    }
    case 'UpdateClient':
      if (state.status !== 'active') throw new DomainError('client_not_found', 'no such client');
      validateClientMetadata(command.metadata);
      // RFC 7592 updates come from the client itself: it cannot grant itself client_credentials.
      if (command.metadata.grantTypes.includes('client_credentials') && state.serviceUserId === undefined)
        throw new DomainError(
          'invalid_client_metadata',
          'client_credentials is only for machine clients an admin creates for a service user',
        );
      if ((command.metadata.tokenEndpointAuthMethod === 'none') !== (state.tokenEndpointAuthMethod === 'none')) {
        throw new DomainError('invalid_client_metadata', 'a client cannot switch between public and confidential');
      }
      return [{ type: 'ClientUpdated', data: { ...command.metadata, clientId: state.clientId, at } }];
    case 'DeleteClient':
      // Idempotent (CLI commands are safe to re-run).
      return state.status === 'active'
        ? [
            {
              type: 'ClientDeleted',
              data: { clientId: state.clientId, ...(command.reason ? { reason: command.reason } : {}), at },
            },
          ]
        : [];
    case 'SetResourceServer':
      if (state.status !== 'active') throw new DomainError('client_not_found', 'no such client');
      // RFC 7662 §2.1: the introspection endpoint needs client authentication, so only a confidential client.
      if (state.tokenEndpointAuthMethod === 'none')
        throw new DomainError('invalid_client_metadata', 'only a confidential client can be a resource server');
      // Idempotent (CLI commands are safe to re-run).
      return (state.resourceServer ?? false) === command.resourceServer
        ? []
        : [
            {
              type: 'ClientResourceServerSet',
              data: { clientId: state.clientId, resourceServer: command.resourceServer, at },
            },
          ];
    default:
      return assertNever(command);
  }
};

export const evolveClient = (state: ClientState, event: ClientEvent): ClientState => {
  switch (event.type) {
    case 'ClientRegistered': {
      const { at, ...rest } = event.data;
      return { status: 'active', ...rest, createdAt: at };
    }
    case 'ClientUpdated': {
      if (state.status !== 'active') return state;
      const { at: _at, clientId: _id, ...metadata } = event.data;
      // RFC 7592 §2.2: an update replaces the metadata; optional fields it leaves out are gone.
      const { scope: _scope, clientUri: _uri, logoUri: _logo, postLogoutRedirectUris: _logout, ...kept } = state;
      return { ...kept, ...metadata };
    }
    case 'ClientDeleted':
      return { status: 'deleted' };
    case 'ClientResourceServerSet':
      return state.status === 'active' ? { ...state, resourceServer: event.data.resourceServer } : state;
    default:
      return assertNever(event);
  }
};

export const clientDecider: Decider<ClientCommand, ClientEvent, ClientState> = {
  initialState: () => ({ status: 'absent' }),
  decide: decideClient,
  evolve: evolveClient,
  parse: (event) => ClientEvent.parse(event),
};
