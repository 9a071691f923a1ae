// CLI commands of the OAuth area: clients list|add|delete|resource-server, tokens revoke, keys rotate.
import type { Services } from '../app/services.ts';
import type { Command } from './command.ts';
import { CLI, DomainError } from '../domain/shared.ts';

const serviceUserOf = async (services: Services, clientId: string): Promise<string> => {
  const client = await services.oauth.clients.find(clientId);
  if (!client?.serviceUserId) return '(none: refused)';
  return (await services.users.byId(client.serviceUserId))?.email ?? client.serviceUserId;
};

export const oauthCommands = (
  out: (text: string) => void,
  table: (rows: Record<string, unknown>[]) => void,
): Record<string, Command> => ({
  'clients list': {
    summary: 'registered OAuth clients (dynamic, metadata document, admin)',
    async run(services) {
      table(
        await Promise.all(
          (await services.oauth.clients.list()).map(async (c) => ({
            client_id: c.client_id,
            name: c.client_name,
            source: c.source,
            auth: c.auth_method,
            status: c.status,
            redirect_uris: c.redirect_uris.join(' '),
            // Machine clients: the service user their tokens act for (read from the client's own stream).
            user: c.grant_types.includes('client_credentials') ? await serviceUserOf(services, c.client_id) : '',
            resource_server: c.resource_server,
          })),
        ),
      );
    },
  },
  'clients add': {
    summary:
      'clients add <name> [--redirect-uri U]... [--post-logout-redirect-uri U]... | <name> --user EMAIL [--scope S]  (machine client; secret shown once)',
    options: {
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
      user: { type: 'string' },
      scope: { type: 'string' },
    },
    async run(services, values, positionals) {
      const name = positionals.join(' ').trim();
      if (!name) throw new DomainError('missing_argument', 'give the client a name');
      const redirectUris = (values['redirect-uri'] as unknown as string[] | undefined) ?? [];
      const postLogoutRedirectUris = (values['post-logout-redirect-uri'] as unknown as string[] | undefined) ?? [];
      const userEmail = typeof values.user === 'string' ? values.user : undefined;
      const scope = typeof values.scope === 'string' ? values.scope : undefined;
      if (userEmail === undefined) {
        if (scope !== undefined)
          throw new DomainError('invalid_argument', '--scope goes with --user (machine clients)');
        const created = await services.oauth.createConfidentialClient(
          { name, redirectUris, postLogoutRedirectUris },
          CLI,
        );
        out(`client_id:     ${created.client.clientId}`);
        out(`client_secret: ${created.clientSecret ?? '(none)'}   (shown once; stored only as a hash)`);
        return;
      }
      if (redirectUris.length || postLogoutRedirectUris.length)
        throw new DomainError(
          'invalid_argument',
          'a machine client (--user) signs nobody in: no --redirect-uri or --post-logout-redirect-uri',
        );
      const created = await services.oauth.createMachineClient(
        { name, userEmail, ...(scope !== undefined ? { scopes: scope.split(/\s+/).filter(Boolean) } : {}) },
        CLI,
      );
      if (created.serviceUser.created)
        out(`created service user ${created.serviceUser.email} (role service, no password, cannot sign in)`);
      out(`client_id:     ${created.client.clientId}`);
      out(`client_secret: ${created.clientSecret ?? '(none)'}   (shown once; stored only as a hash)`);
      out(`acts for:      ${created.serviceUser.email}   scope: ${created.client.scope ?? ''}`);
    },
  },
  'clients delete': {
    summary: 'clients delete <client_id>  (its grants and tokens stop working)',
    async run(services, _values, positionals) {
      const clientId = positionals[0];
      if (!clientId) throw new DomainError('missing_argument', 'give the client_id');
      out(
        (await services.oauth.clients.delete(clientId, CLI))
          ? `deleted ${clientId}`
          : `${clientId} was already deleted or does not exist`,
      );
    },
  },
  'clients resource-server': {
    summary: 'clients resource-server <client_id> on|off  (may introspect tokens of every client)',
    async run(services, _values, positionals) {
      const [clientId, setting] = positionals;
      if (!clientId || (setting !== 'on' && setting !== 'off'))
        throw new DomainError('missing_argument', 'give the client_id and on or off');
      const changed = await services.oauth.clients.setResourceServer(clientId, setting === 'on', CLI);
      out(
        `${clientId} ${changed ? 'is now' : 'was already'} ${setting === 'on' ? 'a resource server' : 'not a resource server'}`,
      );
    },
  },
  'tokens revoke': {
    summary: 'tokens revoke <refresh token | access token | jti> | --user EMAIL | --client ID',
    options: { user: { type: 'string' }, client: { type: 'string' } },
    async run(services, values, positionals) {
      const postLogoutRedirectUris = (values['post-logout-redirect-uri'] as unknown as string[] | undefined) ?? [];
      const userEmail = typeof values.user === 'string' ? values.user : undefined;
      const clientId = typeof values.client === 'string' ? values.client : undefined;
      if (userEmail || clientId) {
        const user = userEmail ? await services.users.byEmail(userEmail) : undefined;
        if (userEmail && !user) throw new DomainError('user_not_found', `no user ${userEmail}`);
        const grants = await services.oauth.listGrants({
          ...(user ? { userId: user.id } : {}),
          ...(clientId ? { clientId } : {}),
        });
        let revoked = 0;
        for (const grant of grants.filter((g) => g.status === 'active'))
          if (await services.oauth.revokeGrant(grant.grant_id, CLI)) revoked += 1;
        out(`revoked ${revoked} grant(s)`);
        return;
      }
      const token = positionals[0];
      if (!token) throw new DomainError('missing_argument', 'give a token or jti, or --user / --client');
      out(
        (await services.oauth.revokeToken(token, CLI))
          ? 'revoked'
          : 'nothing to revoke (unknown, expired or already revoked)',
      );
    },
  },
  'keys rotate': {
    summary: 'add a new signing key; the previous one stays published until its tokens expire',
    async run(services) {
      out(`new signing key: ${await services.oauth.rotateKeys(CLI)}`);
    },
  },
});
