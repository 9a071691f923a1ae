// System tools: what runs, how it is doing, and who is asking. Details of the host are for admins only.
import os from 'node:os';
import { createRequire } from 'node:module';
import si from 'systeminformation';
import { z } from 'zod';
import type { CoreServices } from '../../app/core.ts';
import { MCP_READ } from '../../domain/scopes.ts';
import { positionToString } from '../../eventstore/port.ts';
import { defineTool, ToolError, type Tool } from './define.ts';
import type { ToolCaller } from './define.ts';

const READ_ONLY = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };
const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
const lines = (record: Record<string, unknown>) => [
  {
    type: 'text' as const,
    text: Object.entries(record)
      .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join('\n'),
  },
];

/**
 * Host details (hostname, platform, disks, load, the pid and process stats, the event log's internals)
 * help an attacker map the machine, so they are shown to admins only: an active user with role admin.
 */
const isAdmin = async (core: CoreServices, caller: ToolCaller): Promise<boolean> => {
  const user = await core.users.recent(caller.userId).catch(() => undefined);
  return user?.status === 'active' && user.roles.includes('admin');
};

const requireAdmin = async (core: CoreServices, caller: ToolCaller, tool: string): Promise<void> => {
  if (!(await isAdmin(core, caller)))
    throw new ToolError('admin_required', `${tool} shows details of the host; it is for admins only`);
};

export const systemTools = (core: CoreServices): Tool[] => [
  defineTool({
    name: 'system_info',
    title: 'Server information',
    description:
      'Name, version and uptime of this server; for admins also the Node.js version, platform, host name, system uptime and storage.',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({}),
    output: z.object({
      name: z.string(),
      version: z.string(),
      processUptimeSeconds: z.number(),
      node: z.string().optional().describe('admins only'),
      platform: z.string().optional().describe('admins only'),
      arch: z.string().optional().describe('admins only'),
      hostname: z.string().optional().describe('admins only'),
      systemUptimeSeconds: z.number().optional().describe('admins only'),
      eventLog: z.string().optional().describe('admins only'),
      database: z.enum(['embedded', 'server']).optional().describe('admins only'),
    }),
    run: async (_args, { caller }) => {
      const everyone = { name: 'remotemcp', version, processUptimeSeconds: Math.round(process.uptime()) };
      if (!(await isAdmin(core, caller))) return everyone;
      return {
        ...everyone,
        node: process.version,
        platform: process.platform,
        arch: process.arch,
        hostname: os.hostname(),
        systemUptimeSeconds: Math.round(os.uptime()),
        eventLog: core.log.kind,
        database: core.db.embedded ? ('embedded' as const) : ('server' as const),
      };
    },
    render: lines,
  }),
  defineTool({
    name: 'system_resources',
    title: 'CPU, memory, disk, load',
    description:
      'Current CPU load, memory use, disk use per filesystem and the load averages of the host (admins only).',
    scope: MCP_READ,
    annotations: { ...READ_ONLY, idempotentHint: false },
    input: z.object({}),
    output: z.object({
      cpu: z.object({
        cores: z.number().int(),
        model: z.string(),
        loadPercent: z.number(),
        loadAverage: z.array(z.number()),
      }),
      memory: z.object({ totalMb: z.number(), usedMb: z.number(), availableMb: z.number() }),
      disks: z.array(
        z.object({ mount: z.string(), fs: z.string(), sizeMb: z.number(), usedMb: z.number(), usePercent: z.number() }),
      ),
    }),
    run: async (_args, { caller }) => {
      await requireAdmin(core, caller, 'system_resources');
      const [load, mem, disks] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize()]);
      return {
        cpu: {
          cores: os.cpus().length,
          model: os.cpus()[0]?.model ?? 'unknown',
          loadPercent: Math.round(load.currentLoad * 10) / 10,
          loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
        },
        memory: { totalMb: mb(mem.total), usedMb: mb(mem.active), availableMb: mb(mem.available) },
        disks: disks.map((d) => ({
          mount: d.mount,
          fs: d.fs,
          sizeMb: mb(d.size),
          usedMb: mb(d.used),
          usePercent: Math.round((d.use ?? 0) * 10) / 10,
        })),
      };
    },
    render: lines,
  }),
  defineTool({
    name: 'system_process',
    title: 'Server process',
    description: 'Memory and CPU time of the server process and its pid (admins only).',
    scope: MCP_READ,
    annotations: { ...READ_ONLY, idempotentHint: false },
    input: z.object({}),
    output: z.object({
      pid: z.number().int(),
      uptimeSeconds: z.number(),
      rssMb: z.number(),
      heapUsedMb: z.number(),
      heapTotalMb: z.number(),
      cpuUserMs: z.number(),
      cpuSystemMs: z.number(),
    }),
    run: async (_args, { caller }) => {
      await requireAdmin(core, caller, 'system_process');
      const memory = process.memoryUsage();
      const cpu = process.cpuUsage();
      return {
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
        rssMb: mb(memory.rss),
        heapUsedMb: mb(memory.heapUsed),
        heapTotalMb: mb(memory.heapTotal),
        cpuUserMs: Math.round(cpu.user / 1000),
        cpuSystemMs: Math.round(cpu.system / 1000),
      };
    },
    render: lines,
  }),
  defineTool({
    name: 'system_event_log_status',
    title: 'Event log and projections',
    description: 'The event log head position and, per read model, its position, status and lag (admins only).',
    scope: MCP_READ,
    annotations: { ...READ_ONLY, idempotentHint: false },
    input: z.object({}),
    output: z.object({
      kind: z.string(),
      head: z.string().nullable(),
      projections: z.array(
        z.object({
          name: z.string(),
          status: z.string(),
          position: z.string(),
          eventsHandled: z.number(),
          lagEvents: z.number(),
          lagSeconds: z.number(),
          lastError: z.string().nullable(),
        }),
      ),
    }),
    run: async (_args, { caller }) => {
      await requireAdmin(core, caller, 'system_event_log_status');
      const head = await core.log.headPosition();
      const statuses = await core.projections.status();
      return {
        kind: core.log.kind,
        head: head ? positionToString(head) : null,
        projections: statuses.map((s) => ({
          name: s.name,
          status: s.status,
          position: positionToString(s.position),
          eventsHandled: s.eventsHandled,
          lagEvents: s.lagEvents,
          lagSeconds: Math.round(s.lagSeconds * 10) / 10,
          lastError: s.lastError ?? null,
        })),
      };
    },
    render: (r) => [
      {
        type: 'text',
        text: [
          `event log (${r.kind}) head ${r.head ?? 'empty'}`,
          ...r.projections.map(
            (p) =>
              `${p.name}: ${p.status} at ${p.position}, lag ${p.lagEvents} events${p.lastError ? `, error ${p.lastError}` : ''}`,
          ),
        ].join('\n'),
      },
    ],
  }),
  defineTool({
    name: 'system_whoami',
    title: 'Who am I',
    description: 'The identity behind this session: user, client, session and the scopes of the access token.',
    scope: MCP_READ,
    annotations: READ_ONLY,
    input: z.object({}),
    output: z.object({
      userId: z.string(),
      email: z.string().nullable(),
      name: z.string().nullable(),
      roles: z.array(z.string()),
      clientId: z.string(),
      sessionId: z.string().nullable(),
      scopes: z.array(z.string()),
    }),
    run: async (_args, { caller }) => {
      const user = await core.users.recent(caller.userId).catch(() => undefined);
      return {
        userId: caller.userId,
        email: user?.email ?? null,
        name: user?.name ?? null,
        roles: user?.roles ?? [],
        clientId: caller.clientId,
        sessionId: caller.sessionId ?? null,
        scopes: [...caller.scopes],
      };
    },
    render: lines,
  }),
];
