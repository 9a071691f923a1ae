// HTTP routes of the oauth area. Placeholder until its issue lands.
import type Koa from 'koa';
import type { Services } from '../../app/services.ts';

export const oauthRoutes = (_services: Services): Koa.Middleware => async (_ctx, next) => next();
