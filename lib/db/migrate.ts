/** The startup and `npm run migrate` migration run, loaded only by processes that migrate (lib/db/index.ts). */
import { Migrator, SqliteAdapter, sql, type Kysely, type MigrationResult } from 'kysely';
import { migrations } from './migrations/index.js';
import { SQLITE_BUSY_TIMEOUT_MS } from './sqlite.js';

/**
 * Applies pending migrations; prints one line per migration; throws on the first failure.
 * The migrations' code is loaded here only: processes that do not migrate never load it.
 * They run one at a time, each recorded as it ends, so `stopRequested` (checked between two)
 * can stop the run with every finished migration recorded; the next run continues from there.
 */
export async function runMigrations(db: Kysely<any>, print: (line: string) => void, stopRequested: () => boolean): Promise<MigrationResult[]> {
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
