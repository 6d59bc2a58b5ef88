/**
 * `npm run sweep` — runs the file retention sweep once, with a progress bar on a terminal
 * (plain lines otherwise), and prints a summary. Shares the lease with the servers' cron:
 * when a sweep is already running anywhere on this database, it does nothing and says so.
 */
import { loadConfig } from '../lib/config.js';
import { migrateToLatest, namingDatabaseVariables, openDatabase } from '../lib/db/index.js';
import { runSweep, type SweepProgress, type SweepResult } from '../lib/files/sweep.js';
import { configureLogging } from '../lib/logger.js';
import { runCli } from './run-entry.js';

const HELP = `Usage: npm run sweep [-- --help]

Removes the files older than FABRIC_BACKEND_GUILD_FILE_TTL_DAYS (default 7): their rows in the
database and their bytes in FABRIC_BACKEND_GUILD_FILE_DIR (default ./data/files). Stored files
that no row knows of (left by a crash mid-upload) are removed too once they are as old.
Attachments that pointed at removed files then report expired: true.

Reads the same environment as the server (database, FILE_DIR, FILE_TTL_DAYS); the Center
variables are not needed. Servers run the same sweep on FABRIC_BACKEND_GUILD_FILE_SWEEP_CRON.
Only one sweep runs at a time across every process using the database: if one is running,
this exits without doing anything.

A database that is behind is migrated first (unless FABRIC_BACKEND_GUILD_DB_SYNC=false), one
line per migration on stderr. Shows a progress bar when stderr is a terminal, one line per
batch otherwise, and a summary on stdout. Exit status: 0 when done or when another sweep was running, 1 on an error.`;

// The sweep never talks to Center; loadConfig insists on these, so stand-ins fill the gaps.
const CENTER_STAND_INS: Record<string, string> = {
  FABRIC_BACKEND_GUILD_CENTER_BASE_URL: 'http://center.invalid',
  FABRIC_BACKEND_GUILD_CENTER_API_KEY: 'unused',
  FABRIC_BACKEND_GUILD_NODE_ID: 'sweep',
};

function environment(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [name, value] of Object.entries(CENTER_STAND_INS)) if (!env[name]?.trim()) env[name] = value;
  return env;
}

function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** A one-line bar redrawn in place on a terminal; one plain line per update elsewhere. */
function progressPrinter(tty: boolean) {
  const write = (s: string) => process.stderr.write(s);
  let lastPhase: SweepProgress['phase'] | undefined;
  return {
    update(p: SweepProgress) {
      if (tty && lastPhase && lastPhase !== p.phase) write('\n');
      lastPhase = p.phase;
      if (p.phase === 'expired') {
        const total = p.total ?? 0;
        const ratio = total === 0 ? 1 : p.done / total;
        const bar = tty ? `[${'#'.repeat(Math.round(ratio * 30)).padEnd(30, '-')}] ${String(Math.round(ratio * 100)).padStart(3)}% ` : '';
        const line = `expired files: ${bar}${p.done}/${total} · ${formatBytes(p.bytes)} freed`;
        write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      } else {
        const line = `orphaned files removed: ${p.done} · ${formatBytes(p.bytes)} freed in all`;
        write(tty ? `\r${line}\x1b[K` : `${line}\n`);
      }
    },
    end() {
      if (tty && lastPhase) write('\n');
    },
  };
}

function summary(r: SweepResult): string {
  if (r.skipped) return `another sweep is running${r.heldBy ? ` (held by ${r.heldBy})` : ''}; nothing done`;
  const extras = [
    r.missingOnDisk > 0 ? `${r.missingOnDisk} already missing on disk` : '',
    r.orphans > 0 ? `${r.orphans} orphaned file${r.orphans === 1 ? '' : 's'} removed` : '',
  ].filter(Boolean);
  return `swept ${r.files} expired file${r.files === 1 ? '' : 's'}, ${formatBytes(r.bytes)} freed${extras.length ? ` (${extras.join(', ')})` : ''}`;
}

async function main(): Promise<number> {
  const config = loadConfig(environment());
  // The summary says what the info log line would: at the default level, keep stderr for the progress bar.
  configureLogging(config.logLevel === 'info' ? 'warn' : config.logLevel, config.logFormat);
  const database = await namingDatabaseVariables(config.db, () => openDatabase(config.db));
  const progress = progressPrinter(process.stderr.isTTY === true);
  try {
    // Like the servers: a database that is behind is brought up to date first (unless DB_SYNC=false),
    // one line per migration, as npm run migrate prints: a migration that rebuilds tables can take a while.
    if (config.dbSync) await namingDatabaseVariables(config.db, () => migrateToLatest(database.db, (line) => process.stderr.write(`${line}\n`)));
    const result = await runSweep({ config, database }, { onProgress: (p) => progress.update(p) });
    progress.end();
    console.log(summary(result));
    return 0;
  } finally {
    await database.destroy();
  }
}

runCli('sweep', HELP, main);
