import { Cron } from 'croner';
import { z } from 'zod';

/**
 * The only reader of process.env. Every variable of overview.md, parsed once and frozen.
 * `loadConfig` throws ConfigError naming the first bad variable; entry points print it
 * as one line and exit.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const P = 'FABRIC_BACKEND_GUILD_';

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const port = z.coerce.number().int().min(0).max(65535);
/** A port the node connects to: 0 ("any free port") only makes sense for a listener. */
const remotePort = port.min(1);
const positiveInt = z.coerce.number().int().positive();
/**
 * A URL the node calls (or registers) over HTTP: http: or https:, with a host, and neither
 * credentials (user:password@) nor a query or fragment (the paths are appended to it). A
 * value such as `center:8080` parses as a URL of scheme `center:`, so the scheme is checked
 * here rather than left to the first fetch.
 */
const httpUrl = z
  .string()
  .trim()
  .refine((value) => {
    const u = URL.canParse(value) ? new URL(value) : undefined;
    return !!u && /^https?:$/.test(u.protocol) && !!u.hostname && !u.username && !u.password && !u.search && !u.hash;
  }, 'must be an http(s) URL with a host, no user:password@, query or fragment')
  .transform((u) => u.replace(/\/+$/, ''));

/**
 * CORS_ORIGINS: a comma list compared exactly with the browser's `Origin` header, so every
 * entry must be written as a browser sends it; anything else would refuse those browsers in
 * silence.
 */
const isOrigin = (v: string) => v === 'null' || (URL.canParse(v) && new URL(v).origin === v);
const originList = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  )
  .refine(
    (list) => list.every(isOrigin),
    'each entry must be an origin as a browser sends it: scheme://host[:port] in lower case, no path, no trailing slash, no default port (empty allows every origin)',
  );

/**
 * A Redis URL as the Redis client reads it: redis: or rediss:, a URL that parses, credentials
 * that percent-decode, and a database number as the only path. The client checks these only
 * when a realtime process connects, and its message does not name the variable.
 */
const redisUrl = z
  .string()
  .trim()
  .regex(/^rediss?:\/\//, 'must be a redis:// URL')
  .refine((value) => {
    const u = URL.canParse(value) ? new URL(value) : undefined;
    if (!u || !/^rediss?:$/.test(u.protocol) || !/^(\/|\/\d+)?$/.test(u.pathname)) return false;
    try {
      decodeURIComponent(u.username);
      decodeURIComponent(u.password);
      return true;
    } catch {
      return false;
    }
  }, 'must be redis[s]://[user:password@]host[:port][/database number], with % in the password written %25');

/**
 * Upper bounds of numeric settings whose larger values break later: FILE_TTL_DAYS and the
 * retention keep dates within JS dates and BIGINT milliseconds; EMIT_TIMEOUT_MS stays under
 * Node's timer limit (2^31-1 ms), past which a timeout fires at once.
 */
export const LIMITS = {
  fileTtlDays: 36_500,
  eventRetentionHours: 876_000,
  eventRetentionEvents: 1_000_000_000,
  editWindowSeconds: 3_153_600_000,
  emitTimeoutMs: 600_000,
} as const;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Config {
  centerBaseUrl: string;
  centerApiKey: string;
  nodeId: string;
  port: number;
  publicUrl: string;
  /** Whether PUBLIC_URL was set (not the default): a realtime process registers with Center only then. */
  publicUrlGiven: boolean;
  db: { type: 'mysql'; host: string; port: number; user: string; password: string; database: string; pool: number } | { type: 'sqlite'; file: string };
  dbSync: boolean;
  fileDir: string;
  fileMaxBytes: number;
  fileTtlDays: number;
  fileSweepCron: string;
  corsOrigins: string[];
  editWindowSeconds: number;
  /** At most what a MySQL MEDIUMTEXT column (the canvas content) can hold. */
  canvasMaxBytes: number;
  /** Split-mode API processes: the realtime process's internal listener, or 'none' (no realtime at all). */
  realtimeInternalUrl: string | undefined;
  realtimePort: number;
  realtimeInternalHost: string;
  realtimeInternalPort: number;
  internalSecret: string | undefined;
  redisUrl: string | undefined;
  logLevel: LogLevel;
  /** `json` lines, or `pretty`; unset: pretty when stderr is a terminal. */
  logFormat: 'json' | 'pretty' | undefined;
  /** Port of the Prometheus listener (`GET /metrics`); unset: no listener. */
  metricsPort: number | undefined;
  metricsHost: string;
  /** Introspection cache TTL for active tokens (center.md: 60 s). Tests shorten it. */
  tokenCacheSeconds: number;
  /** Timeout of one internal emit call in split mode. */
  emitTimeoutMs: number;
  /** Interval between heartbeats to Center (center.md: 30 s). A test/tuning knob. */
  heartbeatSeconds: number;
  /** After SIGTERM/SIGINT, how long requests in flight get to finish before they are cut off (docs/operations.md). */
  shutdownTimeoutSeconds: number;
  /** Posts per second refilling each user's bucket in a channel; 0 turns the post limit off (agent-rooms.md). */
  postRatePerSecond: number;
  /** How many posts a full bucket holds. */
  postBurst: number;
  /** Edits per second refilling each user's edit bucket in a channel; 0 turns the edit limit off (docs/operating-limits.md). */
  editRatePerSecond: number;
  /** How many edits a full edit bucket holds. */
  editBurst: number;
  /** Client events one socket may send in any 10 s; 0 turns the limit off. */
  socketEventsPer10s: number;
  /** Event log retention (realtime.md): events younger than this many hours are kept (0: rule off). */
  eventRetentionHours: number;
  /** … and the last this many events of every stream (0: rule off). */
  eventRetentionEvents: number;
  /** When the event log is trimmed (croner syntax). */
  eventTrimCron: string;
}

type Env = Record<string, string | undefined>;

function read<T>(env: Env, name: string, schema: z.ZodType<T>, fallback: T): T;
function read<T>(env: Env, name: string, schema: z.ZodType<T>): T | undefined;
function read<T>(env: Env, name: string, schema: z.ZodType<T>, fallback?: T): T | undefined {
  const raw = env[P + name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalid(name, parsed.error.issues[0]?.message ?? 'bad value', raw);
  return parsed.data;
}

/** Variables whose value may carry a credential: never echoed in a message. */
const mayCarrySecret = (name: string) => /(_URL|SECRET|_KEY|PASSWORD|TOKEN|_USER)$/.test(name);

/**
 * What a message may show of a refused value: the value itself for ordinary settings; for a
 * URL at most its scheme and host (no userinfo, path or query); for other secrets nothing.
 */
export function shownValue(name: string, raw: string): string | undefined {
  if (!mayCarrySecret(name)) return raw;
  if (!name.endsWith('_URL')) return undefined;
  const u = URL.canParse(raw.trim()) ? new URL(raw.trim()) : undefined;
  return u?.host ? `${u.protocol}//${u.host}` : undefined;
}

function invalid(name: string, rule: string, raw: string): ConfigError {
  const shown = shownValue(name, raw);
  return new ConfigError(`${P}${name} is invalid: ${rule}${shown === undefined ? '' : ` (got "${shown}")`}`);
}

function required(env: Env, name: string): string {
  const raw = env[P + name];
  if (raw === undefined || raw.trim() === '') throw new ConfigError(`${P}${name} is required but missing or empty`);
  return raw.trim();
}

/** A cron pattern, checked by croner's own parser without scheduling anything (paused). */
function readCron(env: Env, name: string, fallback: string): string {
  const cron = read(env, name, z.string().trim(), fallback);
  try {
    new Cron(cron, { paused: true }).stop();
  } catch (err) {
    throw invalid(name, err instanceof Error ? err.message : 'not a cron pattern', cron);
  }
  return cron;
}

/** The database part of the config alone (for CLIs such as `npm run migrate` that need no Center). */
export function loadDatabaseConfig(env: Env = process.env): Config['db'] {
  const dbHost = read(env, 'DB_HOST', z.string().trim());
  const dbType = read(env, 'DB_TYPE', z.enum(['mysql', 'sqlite']), dbHost ? 'mysql' : 'sqlite');
  return dbType === 'mysql'
    ? {
        type: 'mysql',
        host: dbHost ?? '127.0.0.1',
        port: read(env, 'DB_PORT', remotePort, 3306),
        user: read(env, 'DB_USER', z.string(), 'root'),
        password: env[P + 'DB_PASSWORD'] ?? '',
        database: read(env, 'DB_NAME', z.string().regex(/^[A-Za-z0-9_]+$/, 'letters, digits and _ only'), 'fabric_guild'),
        pool: read(env, 'DB_POOL', positiveInt, 10),
      }
    : { type: 'sqlite', file: read(env, 'DB_FILE', z.string(), './data/guild.sqlite') };
}

/** Defaults that differ by kind of process (a handler bundle does not migrate unless told to). */
export interface ConfigDefaults {
  dbSync?: boolean;
}

/** Parses the environment into a frozen Config; throws ConfigError naming the variable. */
export function loadConfig(env: Env = process.env, defaults: ConfigDefaults = {}): Readonly<Config> {
  const centerBaseUrl = required(env, 'CENTER_BASE_URL');
  const centerApiKey = required(env, 'CENTER_API_KEY');
  const nodeId = required(env, 'NODE_ID');
  const centerUrl = httpUrl.safeParse(centerBaseUrl);
  if (!centerUrl.success) throw invalid('CENTER_BASE_URL', centerUrl.error.issues[0]?.message ?? 'bad value', centerBaseUrl);
  const portValue = read(env, 'PORT', port, 7002);
  const db = loadDatabaseConfig(env);
  const cron = readCron(env, 'FILE_SWEEP_CRON', '17 * * * *');
  const eventTrimCron = readCron(env, 'EVENT_TRIM_CRON', '41 */10 * * * *');
  const eventRetentionHours = read(env, 'EVENT_RETENTION_HOURS', z.coerce.number().min(0).max(LIMITS.eventRetentionHours), 24);
  const eventRetentionEvents = read(env, 'EVENT_RETENTION_EVENTS', z.coerce.number().int().min(0).max(LIMITS.eventRetentionEvents), 10000);
  if (eventRetentionHours === 0 && eventRetentionEvents === 0) {
    throw new ConfigError(`${P}EVENT_RETENTION_HOURS and ${P}EVENT_RETENTION_EVENTS are both 0: at least one retention rule must stay on`);
  }
  const config: Config = {
    centerBaseUrl: centerUrl.data,
    centerApiKey,
    nodeId,
    port: portValue,
    publicUrl: read(env, 'PUBLIC_URL', httpUrl, `http://localhost:${portValue}`),
    publicUrlGiven: Boolean(env[`${P}PUBLIC_URL`]?.trim()),
    db,
    dbSync: read(env, 'DB_SYNC', bool, defaults.dbSync ?? true),
    fileDir: read(env, 'FILE_DIR', z.string(), './data/files'),
    fileMaxBytes: read(env, 'FILE_MAX_BYTES', positiveInt, 104857600),
    fileTtlDays: read(env, 'FILE_TTL_DAYS', z.coerce.number().positive().max(LIMITS.fileTtlDays), 7),
    fileSweepCron: cron,
    corsOrigins: read(env, 'CORS_ORIGINS', originList, []),
    editWindowSeconds: read(env, 'EDIT_WINDOW_SECONDS', z.coerce.number().int().min(0).max(LIMITS.editWindowSeconds), 900),
    canvasMaxBytes: read(env, 'CANVAS_MAX_BYTES', positiveInt.max(16 * 1024 * 1024 - 1), 1048576),
    realtimeInternalUrl: env[P + 'REALTIME_INTERNAL_URL']?.trim() === 'none' ? 'none' : read(env, 'REALTIME_INTERNAL_URL', httpUrl),
    realtimePort: read(env, 'REALTIME_PORT', port, 7012),
    realtimeInternalHost: read(env, 'REALTIME_INTERNAL_HOST', z.string().trim(), '127.0.0.1'),
    realtimeInternalPort: read(env, 'REALTIME_INTERNAL_PORT', port, 7013),
    internalSecret: read(env, 'INTERNAL_SECRET', z.string()),
    redisUrl: read(env, 'REDIS_URL', redisUrl),
    logLevel: read(env, 'LOG_LEVEL', z.enum(['debug', 'info', 'warn', 'error', 'silent']), 'info'),
    logFormat: read(env, 'LOG_FORMAT', z.enum(['json', 'pretty'])),
    metricsPort: read(env, 'METRICS_PORT', port),
    metricsHost: read(env, 'METRICS_HOST', z.string().trim(), '127.0.0.1'),
    // Lower bounds: the token cache's lifetime also paces each socket's session check and the
    // access sweep, the heartbeat a call to Center; a tiny value would make them a busy loop.
    tokenCacheSeconds: read(env, 'TOKEN_CACHE_SECONDS', z.coerce.number().min(0.5).max(60), 60),
    emitTimeoutMs: read(env, 'EMIT_TIMEOUT_MS', positiveInt.max(LIMITS.emitTimeoutMs), 1000),
    heartbeatSeconds: read(env, 'HEARTBEAT_SECONDS', z.coerce.number().min(0.1).max(3600), 30),
    shutdownTimeoutSeconds: read(env, 'SHUTDOWN_TIMEOUT_SECONDS', z.coerce.number().min(0).max(3600), 20),
    // At most 1000000 per second: the bucket keeps time in microseconds (one post = 1e6 / rate).
    postRatePerSecond: read(env, 'POST_RATE_PER_SECOND', z.coerce.number().min(0).max(1_000_000), 5),
    postBurst: read(env, 'POST_BURST', positiveInt.max(1_000_000), 60),
    editRatePerSecond: read(env, 'EDIT_RATE_PER_SECOND', z.coerce.number().min(0).max(1_000_000), 10),
    editBurst: read(env, 'EDIT_BURST', positiveInt.max(1_000_000), 100),
    socketEventsPer10s: read(env, 'SOCKET_EVENTS_PER_10S', z.coerce.number().int().min(0).max(1_000_000_000), 1000),
    eventRetentionHours,
    eventRetentionEvents,
    eventTrimCron,
  };
  if (config.realtimeInternalUrl && config.realtimeInternalUrl !== 'none' && !config.internalSecret) {
    throw new ConfigError(`${P}INTERNAL_SECRET is required in split mode (REALTIME_INTERNAL_URL is set)`);
  }
  return Object.freeze(config);
}
