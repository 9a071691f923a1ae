// /admin/audit: browse the event log — filter by stream, type, user, client, time range; paginated;
// each event's JSON (secrets redacted); a stream link follows everything that happened to one aggregate.
import Router from '@koa/router';
import { z } from 'zod';
import type { HttpDeps } from '../deps.ts';
import { positionToString } from '../../eventstore/port.ts';
import { eventTypes, queryAudit, redact, type AuditFilter } from './audit-query.ts';
import { renderPage } from './page.ts';
import { summarize } from './audit-summary.ts';
import { clientNames } from './stats.ts';
import { messageStream, sessionStream } from '../../domain/sessions/index.ts';
import { toolAuditStream } from '../../domain/tools/index.ts';

type Deps = Pick<HttpDeps, 'db' | 'log' | 'logRing' | 'mcp' | 'users'>;

const text = z
  .string()
  .trim()
  .max(300)
  .optional()
  .transform((value) => value || undefined);
const time = z
  .string()
  .trim()
  .max(40)
  .optional()
  .transform((value) => {
    if (!value) return undefined;
    // <input type="datetime-local"> sends local time without a zone: read it as UTC (the page says so).
    const date = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
    return Number.isNaN(date.getTime()) ? undefined : date;
  });

// The pagination cursor: a global position, a PostgreSQL bigint.
const MAX_POSITION = BigInt('9223372036854775807');
const cursor = z
  .string()
  .trim()
  .max(40)
  .optional()
  .transform((value) => value || undefined)
  .refine(
    (value) => value === undefined || (/^\d{1,19}$/.test(value) && BigInt(value) <= MAX_POSITION),
    'must be an event position (a whole number)',
  );

const AuditQuery = z.object({
  stream: text,
  type: text,
  user: text,
  client: text,
  session: z
    .string()
    .trim()
    .optional()
    .transform((value) => (value && /^[0-9a-f-]{36}$/.test(value) ? value : undefined)),
  from: time,
  to: time,
  before: cursor,
});

/** The streams of one MCP session; its tool calls are in its user's audit stream (tagged with the session). */
const sessionScope = async (services: Deps, id: string): Promise<NonNullable<AuditFilter['session']>> => {
  const [opened] = await services.log.readStream(sessionStream(id), { maxCount: 1 });
  const userId = (opened?.data as { userId?: unknown } | undefined)?.userId;
  return {
    id,
    streams: [sessionStream(id), messageStream(id)],
    toolStream: typeof userId === 'string' ? toolAuditStream(userId) : undefined,
  };
};

export const auditRoutes = (services: Deps) => {
  const router = new Router();

  router.get('/admin/audit', async (ctx) => {
    const { session, ...rest } = AuditQuery.parse(ctx.query);
    const filter: AuditFilter = { ...rest, ...(session ? { session: await sessionScope(services, session) } : {}) };
    const [page, types, users, clients] = await Promise.all([
      queryAudit(services, filter),
      eventTypes(services),
      services.users.list(),
      clientNames(services),
    ]);
    const emails = new Map(users.map((user) => [user.id, user.email]));
    const summaries = summarize([...page.rows].reverse().map((row) => row.event));
    const query = (extra: Record<string, string>) => {
      const params = new URLSearchParams();
      for (const key of ['stream', 'type', 'user', 'client'] as const) if (filter[key]) params.set(key, filter[key]!);
      if (session) params.set('session', session);
      if (typeof ctx.query.from === 'string' && ctx.query.from) params.set('from', ctx.query.from);
      if (typeof ctx.query.to === 'string' && ctx.query.to) params.set('to', ctx.query.to);
      for (const [key, value] of Object.entries(extra)) params.set(key, value);
      return `/admin/audit?${params.toString()}`;
    };
    renderPage(ctx, 'audit', {
      title: 'Audit history',
      section: 'audit',
      filter: {
        ...filter,
        session: session ?? '',
        from: typeof ctx.query.from === 'string' ? ctx.query.from : '',
        to: typeof ctx.query.to === 'string' ? ctx.query.to : '',
      },
      types,
      kind: services.log.kind,
      scanned: page.scanned,
      events: page.rows.map(({ event }) => {
        const actor = (event.metadata.actor ?? {}) as { type?: string; id?: string; email?: string };
        const data = (event.data ?? {}) as { clientId?: unknown; userId?: unknown };
        const clientId =
          actor.type === 'client' ? actor.id : typeof data.clientId === 'string' ? data.clientId : undefined;
        return {
          id: event.id,
          stream: event.stream,
          revision: String(event.revision),
          position: positionToString(event.position),
          type: event.type,
          at: event.createdAt.toISOString().replace('T', ' ').slice(0, 19),
          actor:
            actor.email ??
            (actor.type === 'user' && actor.id ? emails.get(actor.id) : undefined) ??
            (actor.type === 'client' && actor.id ? clients.get(actor.id) : undefined) ??
            (actor.type && actor.id ? `${actor.type}:${actor.id}` : ''),
          actorId: actor.id,
          actorHref:
            actor.type === 'user' && actor.id
              ? `/admin/audit?user=${encodeURIComponent(actor.id)}`
              : actor.type === 'client' && actor.id
                ? `/admin/clients/${encodeURIComponent(actor.id)}`
                : undefined,
          client: clientId ? { id: clientId, name: clients.get(clientId) ?? clientId } : undefined,
          summary: summaries.get(event.id),
          json: JSON.stringify({ data: redact(event.data), metadata: redact(event.metadata) }, null, 2),
        };
      }),
      nextHref: page.next ? query({ before: page.next }) : undefined,
      firstHref: filter.before ? query({}) : undefined,
    });
  });

  return router;
};
