import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, MysqlDialect, SqliteDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { migrations } from './migrations/index.js';
import { createMysqlPostBatches, postBatchesInFlight, type MysqlPostBatches } from './mysql-post-batches.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
export type DialectName = 'mysql' | 'sqlite';
export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  dialect: DialectName;
  /** MySQL only: the group commit of the post path (dialect.ts insertMessageWithNextSeq). */
  postBatches?: MysqlPostBatches;
  destroy(): Promise<void>;
  /** MySQL only: the connection pool now (the metrics). */
  poolStats?(): { open: number; idle: number; waiting: number };
}

const log = createLogger('db');

/** Opens the database chosen by config: a mysql2 pool, or an embedded SQLite file. */
export async function openDatabase(dbConfig: Config['db']): Promise<DatabaseHandle> {
  if (dbConfig.type === 'mysql') {
    const pool = createPool({
      host: dbConfig.host,
      port: dbConfig.port,
      user: dbConfig.user,
      password: dbConfig.password,
      database: dbConfig.database,
      connectionLimit: dbConfig.pool,
      charset: 'utf8mb4_bin',
      timezone: 'Z',
      enableKeepAlive: true,
      // The post transaction goes as one multi-statement batch (dialect.ts insertMessageWithNextSeq).
      // Every query is parameterised: no text from a request is ever spliced into SQL.
      multipleStatements: true,
    });
    // mysql2 escapes parameters with backslashes: a server whose sql_mode has
    // NO_BACKSLASH_ESCAPES would read them differently, so every connection turns it off.
    pool.on('connection', (conn) =>
      conn.query("set session sql_mode = replace(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')", (err) => {
        // A connection that fails here fails its first real query too; that one reports it.
        if (err) log.warn('could not set the session sql_mode', { code: err.code });
      }),
    );
    const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
    // mysql2 keeps its pool's state in these fields (no public accessor).
    const state = pool as unknown as Record<'_allConnections' | '_freeConnections' | '_connectionQueue', { length: number }>;
    return {
      db,
      dialect: 'mysql',
      postBatches: createMysqlPostBatches(pool, postBatchesInFlight(dbConfig.pool), dbConfig.pool),
      destroy: () => db.destroy(),
      poolStats: () => ({ open: state._allConnections.length, idle: state._freeConnections.length, waiting: state._connectionQueue.length }),
    };
  }
  if (dbConfig.file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(dbConfig.file)), { recursive: true });
  const sqlite = new BetterSqlite3(dbConfig.file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  // Several processes may share the file: wait for the write lock instead of failing.
  sqlite.pragma('busy_timeout = 10000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', destroy: () => db.destroy() };
}

/** Applies pending migrations; prints one line per migration; throws on the first failure. */
export async function migrateToLatest(db: Kysely<any>, print: (line: string) => void = (l) => log.info(l)) {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) print(`${r.status === 'Success' ? 'applied' : r.status.toLowerCase()} ${r.migrationName}`);
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/** True when the database answers a trivial query. */
export async function pingDatabase(db: Db): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}
