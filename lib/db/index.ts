import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { createLogger } from '../logger.js';
import { MIGRATION_NAMES } from './migrations/names.js';
import type { MysqlPostBatches } from './mysql-post-batches.js';
import type { Database } from './schema.js';
import { openSqliteFile } from './sqlite.js';

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
 * Runs `use` (opening the database, its startup migration) and turns a failure to reach the
 * database into one line naming the variables to check (database-errors.ts), as a listener
 * that cannot open does (scripts/processes.ts).
 */
export async function namingDatabaseVariables<T>(dbConfig: Config['db'], use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } catch (err) {
    const { namedDatabaseFailure } = await import('./database-errors.js');
    throw namedDatabaseFailure(dbConfig, err);
  }
}

/**
 * Applies pending migrations; prints one line per migration; throws on the first failure.
 * The migrations' code is loaded here only (migrate.ts): processes that do not migrate never
 * load it. They run one at a time, each recorded as it ends, so `stopRequested` (checked
 * between two) can stop the run with every finished migration recorded; the next run
 * continues from there.
 */
export async function migrateToLatest(db: Kysely<any>, print: (line: string) => void = (l) => log.info(l), stopRequested: () => boolean = () => false) {
  const { runMigrations } = await import('./migrate.js');
  return runMigrations(db, print, stopRequested);
}

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
