import { createCenterClient, type CenterClient } from './center/client.js';
import { loadConfig, type Config } from './config.js';
import { migrateToLatest, namingDatabaseVariables, openDatabase, pendingMigrations, schemaBehind, type DatabaseHandle } from './db/index.js';
import { configureLogging, createLogger } from './logger.js';
import { createNullEmitter, type Emitter } from './realtime/emitter.js';
import type { PresenceSource } from './realtime/presence.js';
import type { RandomSource } from './turns/engine.js';
import { VERSION } from './version.js';

/**
 * Everything a handler or a realtime process needs, built once per process from config:
 * the database, the Center client, the emitter, the random source of the turn engine.
 * Handlers get it as their second argument from the router, or build the default one from
 * the environment when hosted alone (`defaultContext`).
 */
export interface AppContext {
  config: Readonly<Config>;
  database: DatabaseHandle;
  center: CenterClient;
  emitter: Emitter;
  /** Who is connected to this node's realtime side now. */
  presence: PresenceSource;
  random: RandomSource;
  version: string;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Overrides the emitter chosen by config (all-in-one passes its in-process emitter). */
  emitter?: Emitter;
  /** Overrides the presence source chosen by config (all-in-one passes its in-process one). */
  presence?: PresenceSource;
  random?: RandomSource;
  /** Register with Center and heartbeat (servers do; CLIs do not). */
  heartbeat?: boolean;
  /**
   * Without DB_SYNC, refuse a database whose schema is behind this build: the context is not
   * built and the error is a 503 `db_unavailable` saying so (handler bundles).
   */
  requireCurrentSchema?: boolean;
  /**
   * A stop was asked for (a signal during startup): the DB_SYNC migration stops once the one in
   * progress has finished and been recorded, and the context is not built (StartupStopped).
   */
  stopRequested?: () => boolean;
}

/** Startup was stopped on request between two migrations of DB_SYNC; the next start continues. */
export class StartupStopped extends Error {
  override name = 'StartupStopped';
}

const log = createLogger('context');

/** Opens the database (applying migrations when DB_SYNC), builds the Center client and the emitter. */
export async function createContext(config: Readonly<Config>, opts: ContextOptions = {}): Promise<AppContext> {
  configureLogging(config.logLevel, config.logFormat);
  const database = await namingDatabaseVariables(config.db, async () => {
    const opened = await openDatabase(config.db);
    try {
      if (config.dbSync) {
        await migrateToLatest(opened.db, (line) => log.debug(line), opts.stopRequested);
        const pending = opts.stopRequested?.() ? await pendingMigrations(opened.db) : [];
        if (pending.length > 0) throw new StartupStopped(`stopped during the startup migration, ${pending.length} pending (next: ${pending[0]}); the next start continues`);
      } else if (opts.requireCurrentSchema) {
        const pending = await pendingMigrations(opened.db);
        if (pending.length > 0) throw schemaBehind(pending);
      }
    } catch (err) {
      await opened.destroy();
      throw err;
    }
    return opened;
  });
  const center = createCenterClient({
    baseUrl: config.centerBaseUrl,
    apiKey: config.centerApiKey,
    nodeId: config.nodeId,
    publicUrl: config.publicUrl,
    version: VERSION,
    tokenCacheSeconds: config.tokenCacheSeconds,
    heartbeatMs: config.heartbeatSeconds * 1000,
  });
  if (opts.heartbeat) center.startHeartbeat();
  const emitter = opts.emitter ?? (await defaultEmitter(config));
  const presence = opts.presence ?? (await defaultPresence(config));
  return {
    config,
    database,
    center,
    emitter,
    presence,
    random: opts.random ?? Math.random,
    version: VERSION,
    async close() {
      center.stop();
      await emitter.close();
      await database.destroy();
    },
  };
}

/** Split mode's HTTP emitter when REALTIME_INTERNAL_URL is set (loaded only then), else none. */
/** No realtime attached (a handler hosted alone without REALTIME_INTERNAL_URL): nobody is online; else the realtime process answers (its client loaded only then). */
async function defaultPresence(config: Readonly<Config>): Promise<PresenceSource> {
  if (!config.realtimeInternalUrl || config.realtimeInternalUrl === 'none' || !config.internalSecret) return { onlineAmong: async () => [] };
  const { createHttpPresence } = await import('./realtime/presence.js');
  return createHttpPresence({ url: config.realtimeInternalUrl, secret: config.internalSecret, timeoutMs: config.emitTimeoutMs });
}

async function defaultEmitter(config: Readonly<Config>): Promise<Emitter> {
  if (!config.realtimeInternalUrl || config.realtimeInternalUrl === 'none' || !config.internalSecret) return createNullEmitter();
  const { createHttpEmitter } = await import('./realtime/http-emitter.js');
  return createHttpEmitter({ url: config.realtimeInternalUrl, secret: config.internalSecret, timeoutMs: config.emitTimeoutMs });
}

let shared: Promise<AppContext> | undefined;

/**
 * The context of a handler hosted alone: built once from process.env, on first use. A bundle
 * migrates only when the host sets DB_SYNC=true (its default is false: `npm run migrate` is
 * the deploy step), refuses a schema that is behind (503), and starts no timers: no Center
 * heartbeat, no sweep. A failed build (database down, schema behind) is tried again by the
 * next request.
 */
export function defaultContext(): Promise<AppContext> {
  shared ??= createContext(loadConfig(process.env, { dbSync: false }), { requireCurrentSchema: true }).catch((err) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

let configOnly: Promise<AppContext> | undefined;

/**
 * The context of a handler hosted alone that runs on its configuration alone (liveness,
 * `withoutDatabase`): no database is opened, so it answers while the database is away or
 * behind. What it does not have throws when touched.
 */
export function configContext(): Promise<AppContext> {
  configOnly ??= (async () => {
    const config = loadConfig(process.env, { dbSync: false });
    configureLogging(config.logLevel, config.logFormat);
    const absent = (what: string) => () => {
      throw new Error(`${what} is not available to an endpoint that runs without the database`);
    };
    const ctx = { config, version: VERSION, random: Math.random, close: async () => {} } as Partial<AppContext>;
    for (const what of ['database', 'center', 'emitter', 'presence'] as const) Object.defineProperty(ctx, what, { get: absent(what) });
    return ctx as AppContext;
  })().catch((err) => {
    configOnly = undefined;
    throw err;
  });
  return configOnly;
}

/**
 * Resolves once the background work of the default context is done: every event handed
 * over so far delivered to the realtime process (or given up on). Resolves at once when no
 * context was built. What a host awaits (or passes to `waitUntil`) before freezing the instance.
 */
export async function settleDefaultContext(): Promise<void> {
  const ctx = await shared?.catch(() => undefined);
  await ctx?.emitter.flush();
}
