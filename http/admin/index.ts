// HTTP routes of the admin area. Placeholder until its issue lands.
import type Koa from 'koa';
import type { Services } from '../../app/services.ts';

export const adminRoutes = (_services: Services): Koa.Middleware => async (_ctx, next) => next();
