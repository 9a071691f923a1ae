// /admin/tools: every tool with its scope, enabled state (ToolEnabled/ToolDisabled events via
// services.tools.setEnabled) and usage over the last 24 h from the `tool_calls` read model.
import Router from '@koa/router';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { requireCsrf } from '../csrf.ts';
import { formBody, parseForm } from '../forms.ts';
import { adminActor } from './auth.ts';
import { redirectDone, renderPage } from './page.ts';
import { toolUsageToday, type ToolUsageRow } from '../../projections/tools/calls.queries.ts';

type Deps = Pick<HttpDeps, 'db' | 'tools'>;

const ToggleForm = z.object({ enabled: z.enum(['true', 'false']), reason: z.string().trim().max(200).optional() });

export const toolsRoutes = (services: Deps) => {
  const router = new Router();

  router.get('/admin/tools', async (ctx) => {
    const tools = await services.tools.list();
    const usage = new Map<string, ToolUsageRow>();
    for (const row of await toolUsageToday(services.db)) usage.set(row.tool, row);
    renderPage(ctx, 'tools', {
      title: 'Tools',
      section: 'tools',
      tools: tools.map((tool) => {
        const used = usage.get(tool.name);
        return {
          ...tool,
          calls: used?.calls ?? 0,
          errors: used?.errors ?? 0,
          denied: used?.denied ?? 0,
          errorRate: used?.calls ? Math.round((used.errors / used.calls) * 1_000) / 10 : 0,
          avgMs: used?.avg_ms ?? null,
          p95Ms: used?.p95_ms ?? null,
          lastAt: used?.last_at?.toISOString().replace('T', ' ').slice(0, 19) ?? '',
        };
      }),
    });
  });

  router.post('/admin/tools/:name/enabled', parseForm, requireCsrf(), async (ctx) => {
    const form = ToggleForm.parse(formBody(ctx));
    await services.tools.setEnabled(
      String(ctx.params.name),
      form.enabled === 'true',
      adminActor(ctx),
      form.reason ? { reason: form.reason } : {},
    );
    redirectDone(ctx, '/admin/tools', 'tool_updated');
  });

  return router;
};
