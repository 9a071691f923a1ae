// The CLI's commands: thin wrappers over the application services.
import cliProgress from 'cli-progress';
import readline from 'node:readline/promises';
import type { Services } from '../app/services.ts';
import { exportEvents, importEvents } from '../app/backup.ts';
import { seedDemoData } from '../app/seed.ts';
import { generatePassword } from '../app/users.ts';
import { migrate } from '../db/migrate.ts';
import { CLI, DomainError } from '../domain/shared.ts';
import { Role } from '../domain/users/index.ts';
import { duration, out, table, type Command } from './command.ts';
import { oauthCommands } from './oauth-commands.ts';
import { toolsCommands } from './tools-commands.ts';

const needEmail = (positionals: string[]): string => {
  const email = positionals[0];
  if (!email) throw new DomainError('missing_argument', "give the user's email");
  return email;
};

/**
 * Asks for `expected` to be typed again, on the terminal or on piped input; false on any other answer,
 * or when the input ends without one (a script that pipes nothing must say --yes).
 */
const confirm = async (question: string, expected: string): Promise<boolean> => {
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout });
  const ended = new Promise<null>((resolve) => rl.once('close', () => resolve(null)));
  try {
    const answer = await Promise.race([rl.question(question), ended]);
    return answer !== null && answer.trim().toLowerCase() === expected.trim().toLowerCase();
  } finally {
    rl.close();
  }
};

const core: Record<string, Command> = {
  migrate: {
    summary: 'apply database migrations',
    projections: false,
    async run(services) {
      const applied = await migrate(services.db);
      out(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
    },
  },
  'users add': {
    summary: 'users add <email> [--password P] [--name N] [--admin]',
    options: { password: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean' } },
    async run(services, values, positionals) {
      const email = needEmail(positionals);
      if (await services.users.byEmail(email)) {
        out(`user ${email} already exists`);
        return;
      }
      const password = typeof values.password === 'string' ? values.password : generatePassword();
      const roles: Role[] = values.admin ? ['admin', 'user'] : ['user'];
      await services.users.create(
        { email, password, ...(typeof values.name === 'string' ? { name: values.name } : {}), roles },
        CLI,
      );
      out(`created ${email} (${roles.join(', ')})`);
      if (typeof values.password !== 'string') out(`password: ${password}   (shown once)`);
    },
  },
  'users list': {
    summary: 'list users',
    async run(services) {
      const verified = await services.users.verifiedUserIds();
      table(
        (await services.users.list()).map((u) => ({
          email: u.email,
          name: u.name,
          roles: u.roles.join(','),
          status: u.status,
          verified: verified.has(u.id) ? 'yes' : '',
          created: u.created_at.toISOString(),
        })),
      );
    },
  },
  'users disable': {
    summary: 'users disable <email>',
    async run(services, _values, positionals) {
      const email = needEmail(positionals);
      out((await services.users.disable(email, CLI)) ? `disabled ${email}` : `${email} was already disabled`);
    },
  },
  'users erase': {
    summary: 'users erase <email> [--yes]  (destroys their personal data everywhere; asks unless --yes)',
    options: { yes: { type: 'boolean' } },
    async run(services, values, positionals) {
      const email = needEmail(positionals);
      const user = await services.users.byEmail(email);
      if (!user) throw new DomainError('user_not_found', `no user ${email}`);
      if (
        !values.yes &&
        !(await confirm(
          `Erase ${email}? Their personal data cannot be brought back. Type the address to confirm: `,
          email,
        ))
      )
        throw new DomainError('not_confirmed', 'nothing erased (confirm by typing the address, or pass --yes)');
      const result = await services.users.erase(email, CLI);
      out(
        `erased ${user.id}: ${result.keys} data key(s) destroyed, ${result.grants} grant(s) revoked, ` +
          `${result.sessions} browser session(s) and ${result.mcpSessions} MCP session(s) ended`,
      );
    },
  },
  'users enable': {
    summary: 'users enable <email>',
    async run(services, _values, positionals) {
      const email = needEmail(positionals);
      out((await services.users.enable(email, CLI)) ? `enabled ${email}` : `${email} was already enabled`);
    },
  },
  'users verify-email': {
    summary: 'users verify-email <email>  (OIDC email_verified: true from now on)',
    async run(services, _values, positionals) {
      const email = needEmail(positionals);
      out(
        (await services.users.verifyEmail(email, CLI)) ? `marked ${email} verified` : `${email} was already verified`,
      );
    },
  },
  'users passwd': {
    summary: 'users passwd <email> [--password P]  (generates one when omitted)',
    options: { password: { type: 'string' } },
    async run(services, values, positionals) {
      const email = needEmail(positionals);
      const password = typeof values.password === 'string' ? values.password : generatePassword();
      await services.users.changePassword(email, password, CLI);
      out(`password changed for ${email}`);
      if (typeof values.password !== 'string') out(`password: ${password}   (shown once)`);
    },
  },
  'projections status': {
    summary: 'state of every read model: events behind, time behind, last move, error',
    async run(services) {
      // This process runs the projections too (the embedded database is its alone): give them a moment
      // to reach the head, so the table shows the read models rather than this command's start-up.
      await services.projections
        .waitFor(await services.log.headPosition(), { timeoutMs: 5_000 })
        .catch(() => undefined);
      const statuses = await services.projections.status();
      const now = new Date();
      table(
        statuses.map((s) => ({
          projection: s.name,
          state: s.status === 'running' && s.lagEvents === 0 ? 'caught up' : s.status,
          'events handled': s.eventsHandled.toLocaleString('en-US'),
          'events behind': s.lagEvents.toLocaleString('en-US'),
          'time behind': s.lagEvents === 0 ? '-' : duration(s.lagSeconds * 1000),
          'last moved': `${duration(now.getTime() - s.updatedAt.getTime())} ago`,
          error: s.lastError ? `${s.lastError}${s.failedEventId ? ` (event ${s.failedEventId})` : ''}` : '',
        })),
      );
      const failed = statuses.filter((s) => s.status === 'failed');
      const behind = statuses.filter((s) => s.lagEvents > 0);
      out(
        failed.length > 0
          ? `\n${failed.length} failed: run \`npx remotemcp projections rebuild <name>\` once the cause is fixed`
          : behind.length > 0
            ? `\n${behind.length} catching up`
            : '\nall read models are caught up',
      );
      return failed.length > 0 ? 2 : 0;
    },
  },
  'projections rebuild': {
    summary: 'projections rebuild [name]  (all when omitted; fresh tables, then swap)',
    async run(services, _values, positionals) {
      const names = positionals.length ? positionals : services.projections.projections.map((p) => p.name);
      // One read of the log feeds every named projection; each has its own bar.
      const bars = new cliProgress.MultiBar(
        {
          format: `{name} [{bar}] {percentage}% | {value}/{total} events | {rate} ev/s | ETA {eta_formatted}`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      const bar = new Map(names.map((name) => [name, bars.create(1, 0, { name: name.padEnd(20), rate: 0 })]));
      const results = await services.projections
        .rebuildAll(names, (progress) => {
          bar.get(progress.projection)?.setTotal(Math.max(1, progress.total));
          bar.get(progress.projection)?.update(progress.handled, { rate: progress.eventsPerSecond });
        })
        .finally(() => bars.stop());
      for (const result of results) {
        out(
          `${result.projection}: rebuilt from ${result.handled} events (${result.eventsPerSecond} events/s), generation ${result.generation}`,
        );
      }
    },
  },
  'events export': {
    summary: 'events export [--stream S] [--redact] > backup.ndjson',
    options: { stream: { type: 'string' }, redact: { type: 'boolean' } },
    projections: false,
    async run(services, values) {
      const count = await exportEvents(services.log, process.stdout, {
        ...(typeof values.stream === 'string' ? { stream: values.stream } : {}),
        redact: values.redact === true,
      });
      process.stderr.write(`exported ${count} events\n`);
    },
  },
  'events import': {
    summary: 'events import < backup.ndjson  (skips events already present)',
    async run(services) {
      const result = await importEvents(services.log, process.stdin);
      const head = await services.log.headPosition();
      await services.projections.waitFor(head, { timeoutMs: 600_000 });
      out(
        `imported ${result.imported} events into ${result.streams} streams (${result.skipped} already present); read models caught up`,
      );
    },
  },
  seed: {
    summary: 'create demo data (demo user, client, memories)',
    async run(services) {
      for (const line of await seedDemoData({
        users: services.users,
        oauth: services.oauth,
        notes: services.tools.memory.store,
      }))
        out(line);
    },
  },
};

export const COMMANDS: Record<string, Command> = {
  ...core,
  ...oauthCommands(out, table),
  ...toolsCommands(out, table),
};

export const USAGE = `usage: npx remotemcp <command>

${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(22)} ${command.summary}`)
  .join('\n')}

Configuration comes from the environment (see README); DATA_DIR / DATABASE_URL select the database.
`;
