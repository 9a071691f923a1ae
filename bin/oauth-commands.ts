// CLI commands of the OAuth area: clients list|add|delete|resource-server, tokens revoke, keys rotate.
import type { Command } from './commands.ts';
import { CLI, DomainError } from '../domain/shared.ts';

export const oauthCommands = (
  out: (text: string) => void,
  table: (rows: Record<string, unknown>[]) => void,
): Record<string, Command> => ({
  'clients list': {
    summary: 'registered OAuth clients (dynamic, metadata document, admin)',
    async run(services) {
      table(
        (await services.oauth.clients.list()).map((c) => ({
          client_id: c.client_id,
          name: c.client_name,
          source: c.source,
          auth: c.auth_method,
          status: c.status,
          resource_server: c.resource_server,
          redirect_uris: c.redirect_uris.join(' '),
        })),
      );
    },
  },
  'clients add': {
    summary: 'clients add <name> [--redirect-uri U]...  (confidential; the secret is shown once)',
    options: { 'redirect-uri': { type: 'string', multiple: true } },
    async run(services, values, positionals) {
      const name = positionals.join(' ').trim();
      if (!name) throw new DomainError('missing_argument', 'give the client a name');
      const redirectUris = (values['redirect-uri'] as unknown as string[] | undefined) ?? [];
      const created = await services.oauth.createConfidentialClient({ name, redirectUris }, CLI);
      out(`client_id:     ${created.client.clientId}`);
      out(`client_secret: ${created.clientSecret ?? '(none)'}   (shown once; stored only as a hash)`);
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
