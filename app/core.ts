// What every area builds on: configuration, the database, the event log, projections and the shared
// infrastructure. Areas take this (or the part of it they use); the composition root (app/services.ts)
// builds it and is imported by no area.
import type { EventEmitter } from 'node:events';
import type { Config } from './config.ts';
import type { Logger, LogRing } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { Users } from './users.ts';
import type { Database } from '../db/database.ts';
import type { EventLog } from '../eventstore/port.ts';
import type { GroupCommit } from '../eventstore/group-commit.ts';
import type { ProjectionRunner } from '../projections/runner.ts';
import type { RateLimits } from './rate-limits.ts';

/** What every area builds on. */
export type CoreServices = {
  config: Config;
  logger: Logger;
  db: Database;
  log: EventLog;
  projections: ProjectionRunner;
  users: Users;
  /** Recent structured log lines (admin logs page); present when the logger was built with one. */
  logRing: LogRing | undefined;
  /** Shared by all instances: HMAC key for session cookies and CSRF tokens (app/secrets.ts). */
  secret: Buffer;
  /** One Prometheus registry per process; areas add their metrics to it. */
  metrics: Metrics;
  /** Rate limits, shared through Redis when REDIS_URL is set (the port in app/rate-limits.ts). */
  rateLimits: RateLimits;
  /** Emits 'append' (stream, events) after every successful append made by this process. */
  appends: EventEmitter;
  /** Group commit over `log` for appends without a version expectation (MCP messages, tool-call audit). */
  groupCommit: GroupCommit;
};
