/**
 * The variables to name when the database cannot be used at startup. Loaded only when that
 * happens (lib/db/index.ts): handler bundles such as `health` stay small.
 */
import type { Config } from '../config.js';

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
 * `err`, a failure to reach the database, as one error whose message names the variables to
 * check: `FABRIC_BACKEND_GUILD_DB_NAME (mysql host:port/name): no such database: …`. Never
 * the password: only host, port, database name or file are shown. Any other error as it is.
 */
export function namedDatabaseFailure(dbConfig: Config['db'], err: unknown): unknown {
  const code = String((err as { code?: unknown } | null)?.code);
  const known = DATABASE_ERRORS[code];
  if (!known) return err;
  const where = dbConfig.type === 'mysql' ? `mysql ${dbConfig.user}@${dbConfig.host}:${dbConfig.port}/${dbConfig.database}` : `sqlite ${dbConfig.file}`;
  const reason = err instanceof Error && err.message ? err.message : code;
  // The code stays: a handler bundle's request still answers 503 db_unavailable (lib/http/respond.ts).
  return Object.assign(new Error(`${known[0]} (${where}): ${known[1]}: ${reason}`, { cause: err }), { code });
}
