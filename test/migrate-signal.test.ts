/**
 * `npm run migrate` (scripts/migrate.ts as a real child process) stopped by a signal: the
 * migration in progress finishes and is recorded, the process exits 1 with one line saying it
 * stopped and that running it again continues, and running it again completes. A second
 * signal stops it at once, and running it again still completes. The signal is sent while the
 * migration is held inside: a transaction of the test keeps a metadata lock on `channels`, so
 * 2026120620_agent_rooms waits at its second statement (MySQL only: SQLite has no such lock
 * on one table).
 */
import { Migrator, sql } from 'kysely';
import { createConnection, type Connection } from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDatabaseConfig } from '../lib/config.js';
import { openDatabase, type DatabaseHandle } from '../lib/db/index.js';
import { migrations } from '../lib/db/migrations/index.js';
import { MIGRATION_NAMES } from '../lib/db/migrations/names.js';
import { createTestDatabase, spawnNode, TEST_DB, waitFor, type ChildRun, type TestDatabase } from './helpers/harness.js';

const MIGRATE = 'scripts/migrate.ts';
/** What `npm run migrate` runs: tsx's own CLI, which starts the script in a child and passes signals on. */
const TSX_CLI = 'node_modules/tsx/dist/cli.mjs';
const HELD = '2026120620_agent_rooms';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function migrate(env: Record<string, string>): ChildRun {
  const child = spawnNode(TSX_CLI, env, { tsx: false, args: [MIGRATE] });
  cleanups.push(() => child.stop());
  return child;
}

/**
 * A database migrated up to just before HELD, and a transaction of the test holding a read
 * of `channels`: HELD's first statement (on guild_members) runs, its second (on channels)
 * waits until `release`.
 */
async function heldDatabase() {
  const database: TestDatabase = await createTestDatabase();
  cleanups.push(() => database.drop());
  const handle: DatabaseHandle = await openDatabase(loadDatabaseConfig(database.env));
  cleanups.push(() => handle.destroy());
  const before = MIGRATION_NAMES[MIGRATION_NAMES.indexOf(HELD) - 1];
  const { error } = await new Migrator({ db: handle.db, provider: { getMigrations: async () => migrations } }).migrateTo(before);
  if (error) throw error;
  const env = database.env;
  const holder: Connection = await createConnection({
    host: env.FABRIC_BACKEND_GUILD_DB_HOST,
    port: Number(env.FABRIC_BACKEND_GUILD_DB_PORT),
    user: env.FABRIC_BACKEND_GUILD_DB_USER,
    password: env.FABRIC_BACKEND_GUILD_DB_PASSWORD,
    database: env.FABRIC_BACKEND_GUILD_DB_NAME,
  });
  cleanups.push(() => holder.end());
  await holder.query('start transaction');
  await holder.query('select * from channels limit 1');
  return {
    env,
    release: () => holder.query('commit'),
    /** Resolves once a statement of the database waits for the test's lock. */
    waiting: () =>
      waitFor('a migration statement waiting for the metadata lock', async () => {
        const r = await sql<{ n: number }>`select count(*) as n from information_schema.processlist
          where db = database() and state like 'Waiting for table metadata lock'`.execute(handle.db);
        return Number(r.rows[0].n) > 0 ? true : undefined;
      }),
    applied: async () => (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(handle.db)).rows.map((r) => r.name),
  };
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('npm run migrate', () => {
  it('prints its usage with --help and exits 0', async () => {
    const child = spawnNode(TSX_CLI, {}, { tsx: false, args: [MIGRATE, '--help'] });
    expect(await child.exited).toBe(0);
    expect(child.stdout()).toMatch(/^Usage: npm run migrate/);
  });
});

describe.runIf(TEST_DB === 'mysql')('npm run migrate stopped by a signal (mysql)', () => {
  it('on SIGTERM finishes and records the migration in progress, exits 1 with one line, and a re-run completes', async () => {
    const db = await heldDatabase();
    const child = migrate(db.env);
    await db.waiting();
    child.proc.kill('SIGTERM');
    await child.waitForLog('SIGTERM received');
    await db.release();

    expect(await child.exited).toBe(1);
    const last = lines(child.stderr()).at(-1)!;
    expect(last).toMatch(/^migrate: stopped by SIGTERM .*running migrate again continues/);
    expect(await db.applied()).toEqual(MIGRATION_NAMES.slice(0, MIGRATION_NAMES.indexOf(HELD) + 1));
    expect(child.stdout()).toContain(`applied ${HELD}`);

    const again = migrate(db.env);
    expect(await again.exited).toBe(0);
    expect(await db.applied()).toEqual([...MIGRATION_NAMES]);
    expect(again.stdout()).not.toContain(`applied ${HELD}`);
  });

  it('on a second SIGTERM stops at once, mid-migration, and a re-run completes', async () => {
    const db = await heldDatabase();
    const child = migrate(db.env);
    await db.waiting();
    child.proc.kill('SIGTERM');
    await child.waitForLog('SIGTERM received');
    child.proc.kill('SIGTERM');

    // Still held: the process did not wait for the migration.
    expect(await child.exited).toBe(1);
    expect(lines(child.stderr()).at(-1)).toMatch(/^migrate: stopped at once by a second SIGTERM/);
    await db.release();
    expect(await db.applied()).toEqual(MIGRATION_NAMES.slice(0, MIGRATION_NAMES.indexOf(HELD)));

    // HELD's first statement ran; running again finishes it (schema-steps.ts) and the rest.
    const again = migrate(db.env);
    expect(await again.exited).toBe(0);
    expect(again.stdout()).toContain(`applied ${HELD}`);
    expect(await db.applied()).toEqual([...MIGRATION_NAMES]);
  });
});
