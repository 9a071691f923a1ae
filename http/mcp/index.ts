// HTTP routes of the mcp area. Placeholder until its issue lands.
import type Koa from 'koa';
import type { Services } from '../../app/services.ts';

export const mcpRoutes = (_services: Services): Koa.Middleware => async (_ctx, next) => next();
