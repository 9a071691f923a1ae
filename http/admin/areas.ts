// Pages that browse other areas' read models as tables (the memory browser: per user, search).
// Table names come from a fixed list; every one is created by its projection before the server starts.
import Router from '@koa/router';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { userIdForEmail } from '../../domain/users/index.ts';
import { renderPage } from './page.ts';
import { browseMemoryTable, MEMORY_TABLES, type MemoryTable } from '../../projections/tools/memory.queries.ts';

type Deps = Pick<HttpDeps, 'db' | 'users'>;

type Area = { key: string; title: string; tables: readonly MemoryTable[] };

export const AREAS: readonly Area[] = [{ key: 'memory', title: 'Memory', tables: MEMORY_TABLES }];

const HIDDEN_COLUMN = /(secret|password|hash|token$|embedding|^revision$|^search$|^id$)/i;
/** Headings people read; other columns get their name with spaces and a capital. */
const LABELS: Record<string, string> = {
  user_id: 'User',
  entity_type: 'Type',
  from_name: 'From',
  to_name: 'To',
  relation_type: 'Relation',
  updated_at: 'Updated (UTC)',
  created_at: 'Created (UTC)',
};
const label = (column: string): string => {
  const text = LABELS[column] ?? column.replaceAll('_', ' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
};
const ROWS = 100;

const show = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  const text =
    value instanceof Date
      ? value.toISOString().replace('T', ' ').slice(0, 19)
      : Array.isArray(value)
        ? value.map((item) => (typeof item === 'string' ? item : JSON.stringify(item))).join(' · ')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
};

const Search = z.object({
  q: z.string().trim().max(200).optional(),
  user: z.string().trim().max(320).optional(),
});

export const areaRoutes = (services: Deps) => {
  const router = new Router();
  for (const area of AREAS) {
    router.get(`/admin/${area.key}`, async (ctx) => {
      const { q, user } = Search.parse(ctx.query);
      // Per user: by email or id (every memory table has user_id).
      const userId = user ? (user.includes('@') ? userIdForEmail(user) : user) : undefined;
      const tables = [];
      const emails = new Map((await services.users.list()).map((u) => [u.id, u.email]));
      for (const table of area.tables) {
        const result = await browseMemoryTable(services.db, table, { q, userId }, ROWS);
        const columns = result.columns.filter((name) => !HIDDEN_COLUMN.test(name));
        tables.push({
          ...table,
          columns: columns.map(label),
          // A user is shown by email, not by the id derived from it.
          rows: result.rows.map((row) =>
            columns.map((column) =>
              show(column === 'user_id' ? (emails.get(String(row[column])) ?? row[column]) : row[column]),
            ),
          ),
        });
      }
      renderPage(ctx, 'area', { title: area.title, section: area.key, area, tables, q: q ?? '', user: user ?? '' });
    });
  }
  return router;
};
