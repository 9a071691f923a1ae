// GET /: what this server is, the MCP URL to copy, how to add it to common clients, its health.
import Router from '@koa/router';
import type { HttpDeps } from './deps.ts';
import { VERSION } from '../app/version.ts';
import { readiness } from './health.ts';
import { publicUrlOf } from './public-url.ts';
import { need } from './state.ts';

type Deps = Pick<HttpDeps, 'db' | 'oauth' | 'projections'>;

export const homeRoutes = (services: Deps) => {
  const router = new Router();
  router.get('/', async (ctx) => {
    const publicUrl = publicUrlOf(ctx);
    const mcpUrl = `${publicUrl}/mcp`;
    const health = await readiness(services);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'html';
    ctx.body = need(ctx.state, 'render')('home', {
      title: 'Home',
      version: VERSION,
      mcpUrl,
      adminUrl: `${publicUrl}/admin`,
      isHttps: publicUrl.startsWith('https:'),
      health,
      vscodeJson: JSON.stringify({ servers: { remotemcp: { type: 'http', url: mcpUrl } } }, null, 2),
      cursorJson: JSON.stringify({ mcpServers: { remotemcp: { url: mcpUrl } } }, null, 2),
    });
  });
  return router;
};
