// Composition root: config → database (embedded or server) → migrations → event log → projections →
// application services. Used by the server (app/main.ts), the CLI (bin/) and e2e tests.
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.ts';
import type { Logger, LogRing } from './logger.ts';
import { openDatabase, type Database } from '../db/database.ts';
import { migrate } from '../db/migrate.ts';
import type { EventLog, ExpectedAppend, NewEvent, StreamAppend } from '../eventstore/port.ts';
import { GroupCommit } from '../eventstore/group-commit.ts';
import { PostgresEventLog } from '../eventstore/postgres.ts';
import { ProjectionRunner } from '../projections/runner.ts';
import { allProjections } from '../projections/index.ts';
import { Users } from './users.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { CoreServices } from './core.ts';
import { SharedRateLimits } from '../http/rate-limit.ts';
import { loadServerSecret } from './secrets.ts';
import { encrypting, PersonalData, type EncryptingLog } from '../eventstore/encrypting.ts';
import { PersonalKeyStore } from '../eventstore/personal-keys.ts';
import { sealExistingEvents } from './seal-upgrade.ts';
import { ERASURE, PERSONAL_FIELDS, erasedValue } from '../domain/personal.ts';
import { BrowserSessions } from '../http/browser-sessions.ts';
import { BrowserSessionService } from './browser-sessions.ts';
import { createOAuth, type OAuth } from './oauth/index.ts';
import { createTools, type Tools } from '../mcp/tools/index.ts';
import { createMcp, type Mcp } from '../mcp/index.ts';

export type { CoreServices } from './core.ts';

export type Services = CoreServices & {
  browserSessions: BrowserSessions;
  oauth: OAuth;
  tools: Tools;
  mcp: Mcp;
  close(): Promise<void>;
};

export class DataDirBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dir} is in use by process ${pid}; stop it first (or use DATABASE_URL for several processes)`,
    );
    this.name = 'DataDirBusyError';
  }
}

/** PGlite is single-process: a pid file keeps a second process (e.g. the CLI while the server runs) out. */
const lockDataDir = (dataDir: string): (() => void) => {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'embedded.pid');
  try {
    const pid = Number(fs.readFileSync(file, 'utf8'));
    if (pid && pid !== process.pid) {
      try {
        process.kill(pid, 0);
        throw new DataDirBusyError(dataDir, pid);
      } catch (error) {
        if (error instanceof DataDirBusyError) throw error;
        // ESRCH: a stale file from a killed process
      }
    }
  } catch (error) {
    if (error instanceof DataDirBusyError) throw error;
  }
  fs.writeFileSync(file, String(process.pid));
  return () => fs.rmSync(file, { force: true });
};

/** Counts appends for /metrics; a Proxy keeps the adapter's own extras (scavenge) and its class. */
const countAppends = (log: EventLog, metrics: Metrics, appends: EventEmitter): EventLog => {
  const counted = (stream: string, events: readonly NewEvent[]) => {
    metrics.eventsAppended.inc({ stream_category: stream.split('-')[0] ?? stream }, events.length);
    appends.emit('append', stream, events);
  };
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'append') {
        return async (stream: string, events: readonly NewEvent[], options?: Parameters<EventLog['append']>[2]) => {
          const result = await target.append(stream, events, options);
          counted(stream, events);
          return result;
        };
      }
      if (property === 'appendMany') {
        return async (list: readonly StreamAppend[], options?: Parameters<EventLog['appendMany']>[1]) => {
          const results = await target.appendMany(list, options);
          for (const { stream, events } of list) counted(stream, events);
          return results;
        };
      }
      if (property === 'appendEach') {
        return async (list: readonly ExpectedAppend[]) => {
          const results = await target.appendEach(list);
          list.forEach(({ stream, events }, index) => {
            if (!(results[index] instanceof Error)) counted(stream, events);
          });
          return results;
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
};

export const openEventLog = async (config: Config, db: Database): Promise<EventLog> => {
  if (config.eventStoreUrl) {
    const { openEsdbEventLog } = await import('../eventstore/esdb.ts');
    return openEsdbEventLog(config.eventStoreUrl);
  }
  return new PostgresEventLog(db);
};

export const openServices = async (
  config: Config,
  logger: Logger,
  options: {
    startProjections?: boolean;
    logRing?: LogRing;
    loadSecret?: boolean;
    /** false: personal fields stored in clear. For benchmarks of what sealing costs; no setting reaches it. */
    sealPersonalData?: boolean;
  } = {},
): Promise<Services> => {
  let unlock = () => undefined as void;
  let db: Database;
  if (config.databaseUrl) {
    db = await openDatabase({ kind: 'server', url: config.databaseUrl, logger });
  } else {
    unlock = lockDataDir(config.dataDir);
    db = await openDatabase({ kind: 'embedded', dataDir: config.dataDir, logger });
  }
  try {
    await migrate(db, logger);
    const metrics = createMetrics();
    const appends = new EventEmitter();
    appends.setMaxListeners(0);
    const raw = await openEventLog(config, db);
    // The data keys are wrapped under the server secret, read (or made) when a key is first needed. An
    // `events import` brings its secret first in global order, before any event it has to seal.
    const keys = new PersonalKeyStore(db, () => loadServerSecret(raw));
    const personal = new PersonalData(keys, {
      rules: options.sealPersonalData === false ? {} : PERSONAL_FIELDS,
      erased: erasedValue,
      erasure: ERASURE,
    });
    const log = countAppends(encrypting(raw, personal), metrics, appends) as EncryptingLog;
    // Before any reader: events written by earlier versions get their personal fields sealed (once).
    if (raw.kind === 'postgres' && options.loadSecret !== false) await sealExistingEvents(db, personal, logger);
    const projections = new ProjectionRunner(db, log, allProjections, logger);
    if (options.startProjections ?? true) await projections.start();
    else await projections.setup();
    const users = new Users(log, db, projections, keys, appends);
    // `events import` must not create a secret of its own: the imported one has to win.
    const secret = options.loadSecret === false ? undefined : await loadServerSecret(log);
    const base = {
      config,
      logger,
      db,
      log,
      projections,
      users,
      logRing: options.logRing,
      metrics,
      rateLimits: new SharedRateLimits(config),
      appends,
      groupCommit: new GroupCommit(log),
      get secret(): Buffer {
        if (!secret) throw new Error('the server secret is not loaded in this command');
        return secret;
      },
    };
    if (!(await base.rateLimits.ready()))
      logger.warn('Redis (REDIS_URL) not reachable yet: rate limits count per instance until it is');
    const core: CoreServices = base;
    const oauth = await createOAuth(core);
    const tools = await createTools(core);
    const mcp = await createMcp(core, oauth, tools);
    // Object.assign, not spread: spreading would read the lazy `secret` getter.
    return Object.assign(core, {
      browserSessions: new BrowserSessions(core, new BrowserSessionService(core)),
      oauth,
      tools,
      mcp,
      async close() {
        await mcp.close();
        await tools.close();
        await core.groupCommit.flush();
        await oauth.close();
        await projections.stop();
        await core.rateLimits.close();
        await log.close();
        await db.close();
        unlock();
      },
    });
  } catch (error) {
    await db.close().catch(() => undefined);
    unlock();
    throw error;
  }
};
