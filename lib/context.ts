import { createCenterClient, type CenterClient } from './center/client.js';
import { loadConfig, type Config } from './config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from './db/index.js';
import { configureLogging, createLogger } from './logger.js';
import { createNullEmitter, type Emitter } from './realtime/emitter.js';
import { createHttpEmitter } from './realtime/http-emitter.js';
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
  random: RandomSource;
  version: string;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Overrides the emitter chosen by config (all-in-one passes its in-process emitter). */
  emitter?: Emitter;
  random?: RandomSource;
  /** Register with Center and heartbeat (servers do; CLIs do not). */
  heartbeat?: boolean;
}

const log = createLogger('context');

/** Opens the database (applying migrations when DB_SYNC), builds the Center client and the emitter. */
export async function createContext(config: Readonly<Config>, opts: ContextOptions = {}): Promise<AppContext> {
  configureLogging(config.logLevel, config.logFormat);
  const database = await openDatabase(config.db);
  try {
    if (config.dbSync) await migrateToLatest(database.db, (line) => log.debug(line));
  } catch (err) {
    await database.destroy();
    throw err;
  }
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
  const emitter =
    opts.emitter ??
    (config.realtimeInternalUrl && config.internalSecret
      ? createHttpEmitter({ url: config.realtimeInternalUrl, secret: config.internalSecret, timeoutMs: config.emitTimeoutMs })
      : createNullEmitter());
  return {
    config,
    database,
    center,
    emitter,
    random: opts.random ?? Math.random,
    version: VERSION,
    async close() {
      center.stop();
      await emitter.close();
      await database.destroy();
    },
  };
}

let shared: Promise<AppContext> | undefined;

/** The context of a handler hosted alone: built once from process.env, on first use. */
export function defaultContext(): Promise<AppContext> {
  shared ??= createContext(loadConfig(process.env)).catch((err) => {
    shared = undefined;
    throw err;
  });
  return shared;
}
