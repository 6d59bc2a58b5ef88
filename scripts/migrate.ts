/**
 * `npm run migrate` — applies pending migrations to the configured database (MySQL or the
 * SQLite file, from FABRIC_BACKEND_GUILD_DB_*). Prints one line per migration; exits 1 on
 * error. Needs no Center: only the database variables are read.
 */
import { loadDatabaseConfig } from '../lib/config.js';
import { migrateToLatest, openDatabase } from '../lib/db/index.js';
import { migrations } from '../lib/db/migrations/index.js';
import { runCli } from './run-entry.js';

const HELP = `Usage: npm run migrate [-- --help]

Applies every pending migration to the database configured by FABRIC_BACKEND_GUILD_DB_TYPE,
_DB_HOST, _DB_PORT, _DB_USER, _DB_PASSWORD, _DB_NAME (MySQL) or _DB_FILE (SQLite, the default:
./data/guild.sqlite). Prints one line per migration applied; exits 1 on the first error.
Servers also apply migrations at startup unless FABRIC_BACKEND_GUILD_DB_SYNC=false.`;

async function main(): Promise<number> {
  const dbConfig = loadDatabaseConfig(process.env);
  const where = dbConfig.type === 'mysql' ? `mysql ${dbConfig.host}:${dbConfig.port}/${dbConfig.database}` : `sqlite ${dbConfig.file}`;
  const database = await openDatabase(dbConfig);
  try {
    const results = await migrateToLatest(database.db, (line) => console.log(line));
    const applied = results.filter((r) => r.status === 'Success').length;
    console.log(applied === 0 ? `up to date (${Object.keys(migrations).length} migrations) — ${where}` : `${applied} applied — ${where}`);
    return 0;
  } finally {
    await database.destroy();
  }
}

runCli('migrate', HELP, main);
