// The one place that reads the environment (README "Configuration"). Everything else receives a Config.
import path from 'node:path';
import proxyaddr from 'proxy-addr';
import { z } from 'zod';

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "10m" → 600000. A bare number means seconds. */
export const parseDuration = (value: string): number | undefined => {
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 's') as keyof typeof UNIT_MS;
  return Number(match[1]) * UNIT_MS[unit];
};

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const ms = parseDuration(value);
      if (ms === undefined || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 10m, 24h or 30d, got "${value}"` });
        return z.NEVER;
      }
      return ms;
    });

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
  .default('false')
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const postgresUrl = z
  .string()
  .refine((value) => /^postgres(ql)?:\/\//.test(value), 'expected a postgres:// URL')
  .optional();

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
export const isLoopbackUrl = (url: URL): boolean => LOOPBACK_HOSTS.has(url.hostname) || /^127\./.test(url.hostname);

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  // `localhost` listens on both 127.0.0.1 and ::1 (app/server.ts); any other value is one address.
  HOST: z.string().min(1).default('localhost'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: postgresUrl,
  EVENTSTORE_URL: z
    .string()
    .refine(
      (value) => /^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover|kurrent|kurrent\+discover):\/\//.test(value),
      'expected an esdb:// or kurrentdb:// connection string',
    )
    .optional(),
  ADMIN_EMAIL: z.email().default('admin@localhost'),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  SEED_DEMO_DATA: flag,
  ACCESS_TOKEN_TTL: duration('10m'),
  REFRESH_TOKEN_TTL: duration('30d'),
  AUTH_CODE_TTL: duration('60s'),
  FS_ROOTS: z.string().optional(),
  OPENAI_API_KEY: z.string().min(1).optional(),
  OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
  EMBEDDING_MODEL: z.string().min(1).default('text-embedding-3-small'),
  MEMORY_INDEX_DIR: z.string().min(1).optional(),
  REDIS_URL: z
    .string()
    .refine((value) => /^rediss?:\/\//.test(value), 'expected a redis:// URL')
    .optional(),
  EVENT_RETENTION: duration('24h'),
  EVENT_RETENTION_MAX_PER_STREAM: z.coerce.number().int().positive().default(10_000),
  CORS_ORIGINS: z.string().default(''),
  TRUSTED_PROXIES: z.string().default(''),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DANGEROUSLY_ALLOW_HTTP_ISSUER: flag,
  DANGEROUSLY_ALLOW_PRIVATE_CIMD: flag,
  MCP_CONFORMANCE_FIXTURES: flag,
  // Requests per minute for one access token on /mcp, and for one OAuth client on the token endpoints.
  MCP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(6_000),
  OAUTH_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  // /mcp resources: open sessions per user and per access token (429 beyond), concurrent GET streams per
  // session, idle time before a session's in-memory server is evicted, and the largest message kept for replay.
  MCP_MAX_SESSIONS_PER_USER: z.coerce.number().int().positive().default(100),
  MCP_MAX_SESSIONS_PER_TOKEN: z.coerce.number().int().positive().default(20),
  MCP_MAX_STREAMS_PER_SESSION: z.coerce.number().int().positive().default(8),
  MCP_SESSION_IDLE_TIMEOUT: duration('1m'),
  // Every answer waits for its commit, reads included: a read's audit event is durable before its answer.
  MCP_DURABLE_READS: flag,
  MCP_REPLAY_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024),
  // /oauth/authorize requests per minute from one address; client metadata documents fetched at once.
  AUTHORIZE_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(120),
  CIMD_MAX_CONCURRENT_FETCHES: z.coerce.number().int().positive().max(10_000).default(32),
});

export type Config = {
  port: number;
  host: string;
  /** PUBLIC_URL, or http://localhost:PORT when it is unset. Per request, see app/public-url.ts. */
  publicUrl: string;
  /** PUBLIC_URL is unset: each request is answered as the loopback origin it came in on (app/public-url.ts). */
  publicUrlFollowsRequest: boolean;
  dataDir: string;
  databaseUrl: string | undefined;
  eventStoreUrl: string | undefined;
  adminEmail: string;
  adminPassword: string | undefined;
  seedDemoData: boolean;
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  authCodeTtlMs: number;
  fsRoots: string[];
  openai: { apiKey: string; baseUrl: string; model: string } | undefined;
  /** Where this instance keeps its memory vector index (a read model of its own, rebuilt from the log if lost). */
  memoryIndexDir: string;
  redisUrl: string | undefined;
  eventRetentionMs: number;
  eventRetentionMaxPerStream: number;
  corsOrigins: string[];
  /** Reverse proxies (IPs or CIDRs) whose X-Forwarded-For / -Proto are believed (http/proxy.ts). */
  trustedProxies: string[];
  logLevel: string;
  dangerouslyAllowHttpIssuer: boolean;
  dangerouslyAllowPrivateCimd: boolean;
  mcpConformanceFixtures: boolean;
  mcpRateLimitPerMinute: number;
  oauthRateLimitPerMinute: number;
  mcpMaxSessionsPerUser: number;
  mcpMaxSessionsPerToken: number;
  mcpMaxStreamsPerSession: number;
  mcpSessionIdleTimeoutMs: number;
  mcpReplayMaxBytes: number;
  mcpDurableReads: boolean;
  authorizeRateLimitPerMinute: number;
  cimdMaxConcurrentFetches: number;
};

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`Invalid configuration: ${variable} ${detail}`);
    this.name = 'ConfigError';
  }
}

/** Validates an environment; throws ConfigError naming the first bad variable. */
export const loadConfig = (env: Record<string, string | undefined> = process.env): Config => {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(String(issue?.path[0] ?? 'environment'), issue?.message ?? 'is invalid');
  }
  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const url = new URL(publicUrl);
  if (url.search || url.hash) throw new ConfigError('PUBLIC_URL', 'must not have a query or fragment');
  // A loopback issuer may be http; anything else needs the DANGEROUSLY_ flag (RFC 8414 §2: issuer uses https).
  if (url.protocol === 'http:' && !isLoopbackUrl(url) && !e.DANGEROUSLY_ALLOW_HTTP_ISSUER) {
    throw new ConfigError('PUBLIC_URL', 'must be https unless it is loopback or DANGEROUSLY_ALLOW_HTTP_ISSUER=true');
  }
  if (e.MCP_CONFORMANCE_FIXTURES && !isLoopbackUrl(url)) {
    throw new ConfigError('MCP_CONFORMANCE_FIXTURES', 'is only allowed with a loopback PUBLIC_URL');
  }
  const trustedProxies = e.TRUSTED_PROXIES.split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of trustedProxies) {
    // IPs or CIDRs (and proxy-addr's names: loopback, linklocal, uniquelocal); anything else stops start-up.
    try {
      proxyaddr.compile(entry);
    } catch (error) {
      throw new ConfigError('TRUSTED_PROXIES', `"${entry}": ${(error as Error).message}`);
    }
  }
  const dataDir = path.resolve(e.DATA_DIR);
  const fsRoots = (e.FS_ROOTS ?? path.join(dataDir, 'files'))
    .split(',')
    .map((root) => root.trim())
    .filter(Boolean)
    .map((root) => path.resolve(root));
  return {
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    publicUrlFollowsRequest: e.PUBLIC_URL === undefined,
    dataDir,
    databaseUrl: e.DATABASE_URL,
    eventStoreUrl: e.EVENTSTORE_URL,
    adminEmail: e.ADMIN_EMAIL.toLowerCase(),
    adminPassword: e.ADMIN_PASSWORD,
    seedDemoData: e.SEED_DEMO_DATA,
    accessTokenTtlMs: e.ACCESS_TOKEN_TTL,
    refreshTokenTtlMs: e.REFRESH_TOKEN_TTL,
    authCodeTtlMs: e.AUTH_CODE_TTL,
    fsRoots,
    openai: e.OPENAI_API_KEY
      ? { apiKey: e.OPENAI_API_KEY, baseUrl: e.OPENAI_BASE_URL, model: e.EMBEDDING_MODEL }
      : undefined,
    memoryIndexDir: path.resolve(e.MEMORY_INDEX_DIR ?? path.join(dataDir, 'memory-index')),
    redisUrl: e.REDIS_URL,
    eventRetentionMs: e.EVENT_RETENTION,
    eventRetentionMaxPerStream: e.EVENT_RETENTION_MAX_PER_STREAM,
    corsOrigins: e.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    trustedProxies,
    logLevel: e.LOG_LEVEL,
    dangerouslyAllowHttpIssuer: e.DANGEROUSLY_ALLOW_HTTP_ISSUER,
    dangerouslyAllowPrivateCimd: e.DANGEROUSLY_ALLOW_PRIVATE_CIMD,
    mcpConformanceFixtures: e.MCP_CONFORMANCE_FIXTURES,
    mcpRateLimitPerMinute: e.MCP_RATE_LIMIT_PER_MINUTE,
    oauthRateLimitPerMinute: e.OAUTH_RATE_LIMIT_PER_MINUTE,
    mcpMaxSessionsPerUser: e.MCP_MAX_SESSIONS_PER_USER,
    mcpMaxSessionsPerToken: e.MCP_MAX_SESSIONS_PER_TOKEN,
    mcpMaxStreamsPerSession: e.MCP_MAX_STREAMS_PER_SESSION,
    mcpSessionIdleTimeoutMs: e.MCP_SESSION_IDLE_TIMEOUT,
    mcpReplayMaxBytes: e.MCP_REPLAY_MAX_BYTES,
    mcpDurableReads: e.MCP_DURABLE_READS,
    authorizeRateLimitPerMinute: e.AUTHORIZE_RATE_LIMIT_PER_MINUTE,
    cimdMaxConcurrentFetches: e.CIMD_MAX_CONCURRENT_FETCHES,
  };
};

/** Test-only servers (TEST_DATABASE_URL, TEST_EVENTSTORE_URL). Read here so tests also avoid process.env. */
export const testServers = (env: Record<string, string | undefined> = process.env) => ({
  databaseUrl: env.TEST_DATABASE_URL || undefined,
  eventStoreUrl: env.TEST_EVENTSTORE_URL || undefined,
  chromiumPath: env.CHROMIUM_PATH || '/usr/bin/chromium',
});
