import path from 'node:path';
import type { SqliteDatabase } from 'kysely';
import { makeDirectory } from '../make-dir.js';

/**
 * The embedded database, opened with the runtime's own SQLite: better-sqlite3 under Node,
 * the built-in `bun:sqlite` under Bun (better-sqlite3 is a Node addon Bun cannot load). Both
 * sit behind kysely's SqliteDialect, whose `SqliteDatabase` interface is better-sqlite3's;
 * `bun:sqlite` is adapted to it here. Each driver is imported only by the runtime that uses it.
 */

/** True under Bun. */
export const isBun = (): boolean => typeof (process.versions as Record<string, string | undefined>).bun === 'string';

/** How long a statement waits for another process's write lock on the file (the driver waits synchronously). */
export const SQLITE_BUSY_TIMEOUT_MS = 10_000;

/** The three settings every connection gets, whatever the driver. */
const PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = NORMAL',
  // Several processes may share the file: wait for the write lock instead of failing.
  `busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`,
];

/** Opens `file` (creating its folder) with the runtime's SQLite driver. */
export async function openSqliteFile(file: string): Promise<SqliteDatabase> {
  if (file !== ':memory:') await makeDirectory(path.dirname(path.resolve(file)));
  if (isBun()) return openBunSqlite(file);
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const sqlite = new BetterSqlite3(file);
  for (const pragma of PRAGMAS) sqlite.pragma(pragma);
  return sqlite;
}

/** Bun's built-in driver (its types, as far as used here: bun-sqlite.d.ts), adapted to kysely. */
async function openBunSqlite(file: string): Promise<SqliteDatabase> {
  const { Database } = await import('bun:sqlite');
  const sqlite = new Database(file, { create: true });
  for (const pragma of PRAGMAS) sqlite.exec(`pragma ${pragma}`);
  return adaptBunDatabase(sqlite);
}

/** `bun:sqlite`'s Database as kysely's `SqliteDatabase`: statements take their parameters spread, and tell readers by their columns. */
export function adaptBunDatabase(sqlite: import('bun:sqlite').Database): SqliteDatabase {
  return {
    close: () => sqlite.close(),
    prepare(sql) {
      const stmt = sqlite.prepare(sql);
      return {
        // A statement that yields columns (a select, or a write with RETURNING) is read with `all`.
        reader: stmt.columnNames.length > 0,
        all: (parameters) => stmt.all(...(parameters as never[])),
        run: (parameters) => {
          const { changes, lastInsertRowid } = stmt.run(...(parameters as never[]));
          return { changes, lastInsertRowid };
        },
        iterate: (parameters) => stmt.iterate(...(parameters as never[])),
      };
    },
  };
}
