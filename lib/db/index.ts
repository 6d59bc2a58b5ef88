import { Kysely, Migrator, SqliteAdapter, SqliteDialect, sql, type MigrationResult } from 'kysely';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { createLogger } from '../logger.js';
import { MIGRATION_NAMES } from './migrations/names.js';
import type { MysqlPostBatches } from './mysql-post-batches.js';
import type { Database } from './schema.js';
import { openSqliteFile, SQLITE_BUSY_TIMEOUT_MS } from './sqlite.js';

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

/**
 * Opens the database chosen by config: a mysql2 pool, or an embedded SQLite file through the
 * runtime's driver (sqlite.ts). The MySQL side, with its group-commit engine, is loaded only
 * when chosen, so a process on SQLite never loads it.
 */
export async function openDatabase(dbConfig: Config['db']): Promise<DatabaseHandle> {
  if (dbConfig.type === 'mysql') {
    const { openMysql } = await import('./mysql.js');
    return openMysql(dbConfig);
  }
  const sqlite = await openSqliteFile(dbConfig.file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, dialect: 'sqlite', destroy: () => db.destroy() };
}

/**
 * What to check when the database cannot be opened or first used, by error code: the
 * variables that chose it. An error of any other kind (a failed migration, a bug) is not one.
 */
const DATABASE_ERRORS: Record<string, [variables: string, what: string]> = {
  ER_BAD_DB_ERROR: ['FABRIC_BACKEND_GUILD_DB_NAME', 'no such database'],
  ER_ACCESS_DENIED_ERROR: ['FABRIC_BACKEND_GUILD_DB_USER / _DB_PASSWORD', 'access denied'],
  // MariaDB's answer for a user it does not know.
  ER_ACCESS_DENIED_NO_PASSWORD_ERROR: ['FABRIC_BACKEND_GUILD_DB_USER / _DB_PASSWORD', 'access denied'],
  ER_DBACCESS_DENIED_ERROR: ['FABRIC_BACKEND_GUILD_DB_USER / _DB_NAME', 'access denied'],
  ECONNREFUSED: ['FABRIC_BACKEND_GUILD_DB_HOST / _DB_PORT', 'cannot connect'],
  ENOTFOUND: ['FABRIC_BACKEND_GUILD_DB_HOST', 'cannot connect'],
  EAI_AGAIN: ['FABRIC_BACKEND_GUILD_DB_HOST', 'cannot connect'],
  ETIMEDOUT: ['FABRIC_BACKEND_GUILD_DB_HOST / _DB_PORT', 'cannot connect'],
  EHOSTUNREACH: ['FABRIC_BACKEND_GUILD_DB_HOST', 'cannot connect'],
  ENETUNREACH: ['FABRIC_BACKEND_GUILD_DB_HOST', 'cannot connect'],
  // SQLite: the file's folder or the file itself.
  ENOENT: ['FABRIC_BACKEND_GUILD_DB_FILE', 'cannot create its folder'],
  ENOTDIR: ['FABRIC_BACKEND_GUILD_DB_FILE', 'cannot create its folder'],
  EACCES: ['FABRIC_BACKEND_GUILD_DB_FILE', 'cannot create its folder'],
  EROFS: ['FABRIC_BACKEND_GUILD_DB_FILE', 'cannot create its folder'],
  SQLITE_CANTOPEN: ['FABRIC_BACKEND_GUILD_DB_FILE', 'cannot open'],
  SQLITE_NOTADB: ['FABRIC_BACKEND_GUILD_DB_FILE', 'not a database file'],
  SQLITE_READONLY: ['FABRIC_BACKEND_GUILD_DB_FILE', 'not writable'],
};

/**
 * Runs `use` (opening the database, its startup migration) and turns a failure to reach the
 * database into one line naming the variables to check, as a listener that cannot open does
 * (scripts/processes.ts): `FABRIC_BACKEND_GUILD_DB_NAME (mysql host:port/name): no such
 * database: …`. Never the password: only host, port, database name or file are shown.
 */
export async function namingDatabaseVariables<T>(dbConfig: Config['db'], use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } catch (err) {
    const code = String((err as { code?: unknown } | null)?.code);
    const known = DATABASE_ERRORS[code];
    if (!known) throw err;
    const where = dbConfig.type === 'mysql' ? `mysql ${dbConfig.user}@${dbConfig.host}:${dbConfig.port}/${dbConfig.database}` : `sqlite ${dbConfig.file}`;
    const reason = err instanceof Error && err.message ? err.message : code;
    // The code stays: a handler bundle's request still answers 503 db_unavailable (lib/http/respond.ts).
    throw Object.assign(new Error(`${known[0]} (${where}): ${known[1]}: ${reason}`, { cause: err }), { code });
  }
}

/**
 * Applies pending migrations; prints one line per migration; throws on the first failure.
 * The migrations' code is loaded here only: processes that do not migrate never load it.
 * They run one at a time, each recorded as it ends, so `stopRequested` (checked between two)
 * can stop the run with every finished migration recorded; the next run continues from there.
 */
export async function migrateToLatest(db: Kysely<any>, print: (line: string) => void = (l) => log.info(l), stopRequested: () => boolean = () => false) {
  const { migrations } = await import('./migrations/index.js');
  const sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  // Kysely's lock on SQLite is a no-op (one connection per process), and its deferred
  // transaction lets two processes read the same state and run the same migration (the second
  // then fails on kysely_migration's key). Each step runs here in an IMMEDIATE transaction
  // instead: it takes the file's write lock first, so a second process waits and then reads
  // what the first recorded. MySQL's GET_LOCK already does this.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations }, disableTransactions: sqlite });
  const step = async () => {
    if (!sqlite) return migrator.migrateUp();
    if (!(await sqliteWriteLock(db, print, stopRequested))) return { results: [] };
    const outcome = await migrator.migrateUp();
    await sql.raw(outcome.error ? 'rollback' : 'commit').execute(db);
    return outcome;
  };
  const applied: MigrationResult[] = [];
  while (!stopRequested()) {
    const { error, results = [] } = await step();
    for (const r of results) print(`${r.status === 'Success' ? 'applied' : r.status.toLowerCase()} ${r.migrationName}`);
    if (error) throw error instanceof Error ? error : new Error(String(error));
    if (results.length === 0) break;
    applied.push(...results);
  }
  return applied;
}

/**
 * Begins an IMMEDIATE transaction, polling while another process holds the file's write lock:
 * the driver's own wait (busy_timeout) blocks the event loop, where a signal could not be
 * handled. Resolves false, with no transaction, when a stop is requested meanwhile.
 */
async function sqliteWriteLock(db: Kysely<any>, print: (line: string) => void, stopRequested: () => boolean): Promise<boolean> {
  await sql.raw('pragma busy_timeout = 0').execute(db);
  try {
    for (let waiting = false; ; waiting = true) {
      try {
        await sql`begin immediate`.execute(db);
        return true;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
      }
      if (!waiting) print('waiting for another process migrating this database');
      if (stopRequested()) return false;
      await new Promise((resolve) => setTimeout(resolve, SQLITE_LOCK_POLL_MS));
    }
  } finally {
    await sql.raw(`pragma busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`).execute(db);
  }
}

const SQLITE_LOCK_POLL_MS = 50;

/** The migrations this build knows that the database has not applied (all of them on an empty database). */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  let applied: Set<string>;
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.rows.map((r) => r.name));
  } catch (err) {
    const code = (err as { code?: unknown } | null)?.code;
    const missingTable = code === 'ER_NO_SUCH_TABLE' || /no such table/i.test(err instanceof Error ? err.message : '');
    if (!missingTable) throw err;
    applied = new Set();
  }
  return MIGRATION_NAMES.filter((name) => !applied.has(name));
}

/** 503 db_unavailable for a process that does not migrate and finds the schema behind its code. */
export function schemaBehind(pending: readonly string[]): HttpError {
  return new HttpError(503, 'db_unavailable', `the database schema is behind this build (${pending.length} migration(s) not applied, e.g. ${pending[0]}); run npm run migrate`);
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
