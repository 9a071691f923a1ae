// /admin/clients: registered OAuth clients (how registered: DCR, CIMD, admin), details with redirect URIs,
// create a confidential client or a machine client bound to a service user (secret shown once, never
// stored in clear), mark a confidential client as a resource server (it may introspect every client's
// tokens, RFC 7662 §4), delete.
import Router from '@koa/router';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { MCP_READ, MCP_WRITE } from '../../domain/scopes.ts';
import { requireCsrf } from '../csrf.ts';
import { HttpError } from '../errors.ts';
import { formBody, parseForm } from '../forms.ts';
import { adminActor } from './auth.ts';
import { redirectDone, renderPage } from './page.ts';
import { clientUsage, type ClientUsageRow } from '../../projections/oauth/grants.queries.ts';

type Deps = Pick<HttpDeps, 'db' | 'oauth' | 'users'>;

const SOURCES: Record<string, string> = {
  dynamic: 'dynamic registration (RFC 7591)',
  admin: 'admin',
  metadata_document: 'client ID metadata document (CIMD)',
};

const ResourceServerForm = z.object({ resource_server: z.enum(['on', 'off']) });

const CreateForm = z.object({
  name: z.string().trim().min(1).max(200),
  redirect_uris: z
    .string()
    .max(4_000)
    .optional()
    .transform((value) => (value ?? '').split(/\s+/).filter(Boolean)),
});

const MachineForm = z.object({
  name: z.string().trim().min(1).max(200),
  service_user: z.string().trim().min(3).max(320),
  scope_read: z.literal('on').optional(),
  scope_write: z.literal('on').optional(),
});

const when = (date: Date) => date.toISOString().replace('T', ' ').slice(0, 19);

/** Per client: grants (all, active), unexpired tokens, and the last token issued or tool call made. */
const clientUsageById = async (services: Deps): Promise<Map<string, ClientUsageRow>> =>
  new Map((await clientUsage(services.db)).map((row) => [row.client_id, row]));

export const clientsRoutes = (services: Deps) => {
  const router = new Router();

  router.get('/admin/clients', async (ctx) => {
    const [clients, usage] = await Promise.all([services.oauth.clients.list(), clientUsageById(services)]);
    renderPage(ctx, 'clients', {
      title: 'OAuth clients',
      section: 'clients',
      clients: clients.map((c) => {
        const used = usage.get(c.client_id);
        return {
          ...c,
          how: SOURCES[c.source] ?? c.source,
          created: when(c.created_at),
          lastUsed: used?.last_used ? when(used.last_used) : 'never',
          grants: used?.grants ?? 0,
          activeGrants: used?.active_grants ?? 0,
          activeTokens: used?.active_tokens ?? 0,
        };
      }),
    });
  });

  // Delete asks first: a page that names the client, whose form carries the confirmation (no script needed).
  router.get('/admin/clients/:id/delete', async (ctx) => {
    const client = await services.oauth.clients.find(String(ctx.params.id));
    if (!client) throw new HttpError(404, 'client_not_found', 'no such client');
    renderPage(ctx, 'client-delete', { title: `Delete ${client.clientName}?`, section: 'clients', client });
  });

  router.get('/admin/clients/:id', async (ctx) => {
    const client = await services.oauth.clients.find(String(ctx.params.id));
    if (!client) throw new HttpError(404, 'client_not_found', 'no such client');
    const grants = await services.oauth.listGrants({ clientId: client.clientId });
    const serviceUser = client.serviceUserId ? await services.users.byId(client.serviceUserId) : undefined;
    renderPage(ctx, 'client', {
      title: client.clientName,
      section: 'clients',
      client,
      serviceUser: serviceUser?.email ?? client.serviceUserId,
      how: SOURCES[client.source] ?? client.source,
      grants: grants.length,
      activeGrants: grants.filter((g) => g.status !== 'revoked').length,
    });
  });

  router.post('/admin/clients', parseForm, requireCsrf(), async (ctx) => {
    const form = CreateForm.parse(formBody(ctx));
    const created = await services.oauth.createConfidentialClient(
      { name: form.name, redirectUris: form.redirect_uris },
      adminActor(ctx),
    );
    // Shown in this response only (Cache-Control: no-store); the log keeps a hash.
    renderPage(ctx, 'client-created', {
      title: 'Client created',
      section: 'clients',
      client: created.client,
      secret: created.clientSecret,
    });
    ctx.status = 201;
  });

  router.post('/admin/clients/:id/resource-server', parseForm, requireCsrf(), async (ctx) => {
    const form = ResourceServerForm.parse(formBody(ctx));
    const clientId = String(ctx.params.id);
    await services.oauth.clients.setResourceServer(clientId, form.resource_server === 'on', adminActor(ctx));
    redirectDone(ctx, `/admin/clients/${encodeURIComponent(clientId)}`, 'client_updated');
  });

  // A machine client: client_credentials for a service user, with the scopes ticked here.
  router.post('/admin/clients/machine', parseForm, requireCsrf(), async (ctx) => {
    const form = MachineForm.parse(formBody(ctx));
    const scopes = [...(form.scope_read ? [MCP_READ] : []), ...(form.scope_write ? [MCP_WRITE] : [])];
    if (scopes.length === 0) throw new HttpError(400, 'invalid_scope', 'tick at least one scope');
    const created = await services.oauth.createMachineClient(
      { name: form.name, userEmail: form.service_user, scopes },
      adminActor(ctx),
    );
    renderPage(ctx, 'client-created', {
      title: 'Client created',
      section: 'clients',
      client: created.client,
      secret: created.clientSecret,
      serviceUser: created.serviceUser,
    });
    ctx.status = 201;
  });

  router.post('/admin/clients/:id/delete', parseForm, requireCsrf(), async (ctx) => {
    if (formBody(ctx).confirm !== 'yes')
      throw new HttpError(400, 'confirmation_required', 'confirm the deletion on its page first');
    await services.oauth.clients.delete(String(ctx.params.id), adminActor(ctx));
    redirectDone(ctx, '/admin/clients', 'client_deleted');
  });

  return router;
};
