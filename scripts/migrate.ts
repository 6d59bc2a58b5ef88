/**
 * `npm run migrate` — applies pending migrations to the configured database (MySQL or the
 * SQLite file, from FABRIC_BACKEND_GUILD_DB_*). Prints one line per migration; exits 1 on
 * error. Needs no Center: only the database variables are read.
 */
import { loadDatabaseConfig } from '../lib/config.js';
import { migrateToLatest, namingDatabaseVariables, openDatabase, pendingMigrations } from '../lib/db/index.js';
import { migrations } from '../lib/db/migrations/index.js';
import { onStopSignals, runCli } from './run-entry.js';

const HELP = `Usage: npm run migrate [-- --help]

Applies every pending migration to the database configured by FABRIC_BACKEND_GUILD_DB_TYPE,
_DB_HOST, _DB_PORT, _DB_USER, _DB_PASSWORD, _DB_NAME (MySQL) or _DB_FILE (SQLite, the default:
./data/guild.sqlite). Prints one line per migration applied; exits 1 on the first error.
SIGTERM or SIGINT stops it once the migration in progress has finished and been recorded
(exit 1); a second signal stops it at once. Running it again continues where it stopped.
Servers also apply migrations at startup unless FABRIC_BACKEND_GUILD_DB_SYNC=false.`;

async function main(): Promise<number> {
  // As the servers do during their startup migration (run-entry.ts): the handlers are in place
  // before anything runs, and a signal lets the migration in progress finish instead of
  // killing it between two statements.
  const signal = onStopSignals({
    first: (received) => console.error(`migrate: ${received} received; stopping once the migration in progress has finished`),
    again(received) {
      // Safe too: the migrations are re-runnable (lib/db/migrations/schema-steps.ts).
      console.error(`migrate: stopped at once by a second ${received}; the migration in progress is not recorded, running migrate again finishes it`);
      process.exit(1);
    },
  });

  const dbConfig = loadDatabaseConfig(process.env);
  const where = dbConfig.type === 'mysql' ? `mysql ${dbConfig.host}:${dbConfig.port}/${dbConfig.database}` : `sqlite ${dbConfig.file}`;
  const database = await namingDatabaseVariables(dbConfig, () => openDatabase(dbConfig));
  try {
    const results = await namingDatabaseVariables(dbConfig, () =>
      migrateToLatest(
        database.db,
        (line) => console.log(line),
        () => signal() !== undefined,
      ),
    );
    const applied = results.filter((r) => r.status === 'Success').length;
    const pending = signal() ? await pendingMigrations(database.db) : [];
    if (pending.length > 0) {
      console.error(`migrate: stopped by ${signal()} after ${applied} applied, ${pending.length} pending (next: ${pending[0]}); running migrate again continues — ${where}`);
      return 1;
    }
    console.log(applied === 0 ? `up to date (${Object.keys(migrations).length} migrations) — ${where}` : `${applied} applied — ${where}`);
    return 0;
  } finally {
    await database.destroy();
  }
}

runCli('migrate', HELP, main);
