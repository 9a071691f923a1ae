// Front-end assets installed from npm and served by the app (never from a CDN):
// /assets/bootstrap, /assets/fontawesome, /assets/chartjs and our own /assets/app.
import type Koa from 'koa';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// Some packages (chart.js) do not export package.json, so resolve by folder.
const packageDir = (name: string) => path.join(here, '..', 'node_modules', name);

/** URL prefix → directory. Only files below these directories can be served. */
export const ASSET_DIRS: Record<string, string> = {
  bootstrap: path.join(packageDir('bootstrap'), 'dist'),
  fontawesome: packageDir('@fortawesome/fontawesome-free'),
  chartjs: path.join(packageDir('chart.js'), 'dist'),
  app: path.join(here, '..', 'views', 'assets'),
};

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const PREFIX = /^\/assets\/([\w-]+)\/(.+)$/;

export const assetRoutes = (): Koa.Middleware => async (ctx, next) => {
  const match = ctx.method === 'GET' || ctx.method === 'HEAD' ? PREFIX.exec(ctx.path) : null;
  if (!match) return next();
  const base = ASSET_DIRS[match[1]!];
  const file = match[2]!;
  if (!base || file.includes('\0')) return next();
  const full = path.resolve(base, file);
  const type = TYPES[path.extname(full)];
  // ctx.path is already percent-decoded: "..%2F" arrives as "../" and is caught here.
  if (!full.startsWith(base + path.sep) || !type) return next();
  const stat = await fs.promises.stat(full).catch(() => undefined);
  if (!stat?.isFile()) return next();
  ctx.type = type;
  ctx.length = stat.size;
  ctx.set('Cache-Control', 'public, max-age=86400');
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.body = fs.createReadStream(full);
};
