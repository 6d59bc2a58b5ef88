/**
 * The database seam: the migration names a bundle checks against equal the migrations that
 * run, the schema check, and the SQLite adapter of Bun's built-in driver (run under Bun).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../lib/db/migrations/index.js';
import { MIGRATION_NAMES } from '../lib/db/migrations/names.js';
import { migrateToLatest, openDatabase, pendingMigrations } from '../lib/db/index.js';
import { loadDatabaseConfig } from '../lib/config.js';
import { BUN, cleanEnv, createTestDatabase, REPO_ROOT, type TestDatabase } from './helpers/harness.js';

const run = promisify(execFile);
const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const db of dbs) await db.drop();
});

describe('migration names', () => {
  it('list every migration, in order, under the names the migrator records', () => {
    expect(Object.keys(migrations)).toEqual([...MIGRATION_NAMES]);
    expect([...MIGRATION_NAMES].sort()).toEqual([...MIGRATION_NAMES]);
  });

  it('pendingMigrations: all of them on an empty database, none once migrated', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    const handle = await openDatabase(loadDatabaseConfig(db.env));
    try {
      expect(await pendingMigrations(handle.db)).toEqual([...MIGRATION_NAMES]);
      await migrateToLatest(handle.db, () => undefined);
      expect(await pendingMigrations(handle.db)).toEqual([]);
    } finally {
      await handle.destroy();
    }
  });
});

describe('SQLite under Bun (bun:sqlite behind kysely)', () => {
  it('migrates, writes in an IMMEDIATE transaction, reads RETURNING rows and keeps integers as numbers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-bun-sqlite-'));
    try {
      const script = `
        import { sql } from 'kysely';
        import { openDatabase, migrateToLatest, pendingMigrations } from './lib/db/index.ts';
        import { withTransaction, allocateSeq } from './lib/db/dialect.ts';
        const handle = await openDatabase({ type: 'sqlite', file: ${JSON.stringify(path.join(dir, 'g.sqlite'))} });
        const applied = (await migrateToLatest(handle.db, () => {})).length;
        const pending = await pendingMigrations(handle.db);
        await sql\`insert into channels (id, guild_id, name, topic, x_type, created_by, created_at) values ('c1', 'g1', 'c', '', 'general', 'u1', 1)\`.execute(handle.db);
        const seqs = [];
        for (let i = 0; i < 3; i++) seqs.push(await withTransaction(handle.db, handle.dialect, (trx) => allocateSeq(trx, handle.dialect, 'c1')));
        const missing = await withTransaction(handle.db, handle.dialect, (trx) => allocateSeq(trx, handle.dialect, 'nope'));
        const rolledBack = await withTransaction(handle.db, handle.dialect, async (trx) => { await allocateSeq(trx, handle.dialect, 'c1'); throw new Error('undo'); }).catch((e) => e.message);
        const row = await handle.db.selectFrom('channels').select(['last_seq']).where('id', '=', 'c1').executeTakeFirstOrThrow();
        const journal = (await sql\`pragma journal_mode\`.execute(handle.db)).rows[0];
        await handle.destroy();
        console.log(JSON.stringify({ runtime: typeof Bun, applied, pending, seqs, missing, rolledBack, lastSeq: row.last_seq, journal }));
      `;
      const { stdout } = await run(BUN, ['-e', script], { cwd: REPO_ROOT, env: cleanEnv() });
      expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({
        runtime: 'object',
        applied: MIGRATION_NAMES.length,
        pending: [],
        seqs: [1, 2, 3],
        missing: null,
        rolledBack: 'undo',
        lastSeq: 3,
        journal: { journal_mode: 'wal' },
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
