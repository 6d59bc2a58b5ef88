/**
 * A migration cut off between two of its schema statements (MySQL commits each DDL statement
 * on its own; kysely runs SQLite migrations outside a transaction too) is finished by the next
 * run. For every migration, cut after its first, middle, next-to-last and last statement, the
 * statements before the cut are applied without the migration being recorded, then the runner
 * runs, and the schema it ends at is the schema of a clean migration. Real databases (FABRIC_TEST_DB picks the dialect).
 */
import { Migrator, sql, type Kysely, type KyselyPlugin, type OperationNode, type RawNode } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDatabaseConfig } from '../lib/config.js';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '../lib/db/index.js';
import { migrations } from '../lib/db/migrations/index.js';
import { MIGRATION_NAMES } from '../lib/db/migrations/names.js';
import { createTestDatabase, TEST_DB, type TestDatabase } from './helpers/harness.js';

const SCHEMA_KINDS = new Set(['CreateTableNode', 'AlterTableNode', 'CreateIndexNode', 'DropIndexNode', 'DropTableNode']);

/** True for a statement that changes the schema: a schema builder's, or raw SQL starting with create, alter or drop. */
function isSchemaStatement(node: OperationNode): boolean {
  if (SCHEMA_KINDS.has(node.kind)) return true;
  return node.kind === 'RawNode' && /^\s*(create|alter|drop)\b/i.test((node as RawNode).sqlFragments[0] ?? '');
}

class Cut extends Error {}

/** Counts schema statements as they go to the database and refuses the one after `limit` (a process killed there). */
function cutAfter(limit: number) {
  const counter = { statements: 0 };
  const plugin: KyselyPlugin = {
    transformQuery({ node }) {
      if (isSchemaStatement(node) && ++counter.statements > limit) throw new Cut(`cut after statement ${limit}`);
      return node;
    },
    transformResult: async ({ result }) => result,
  };
  return { plugin, counter };
}

interface Opened {
  database: TestDatabase;
  handle: DatabaseHandle;
  close(): Promise<void>;
}

async function open(): Promise<Opened> {
  const database = await createTestDatabase();
  const handle = await openDatabase(loadDatabaseConfig(database.env));
  return {
    database,
    handle,
    async close() {
      await handle.destroy();
      await database.drop();
    },
  };
}

const provider = { getMigrations: async () => migrations };

/** Tables, columns and indexes as the database describes them, in a stable order. */
async function schemaOf(db: Kysely<any>): Promise<unknown> {
  if (TEST_DB === 'mysql') {
    const tables = await sql`select table_name, engine, table_collation from information_schema.tables
      where table_schema = database() order by table_name`.execute(db);
    const columns = await sql`select table_name, column_name, ordinal_position, column_type, is_nullable, column_default,
        character_set_name, collation_name, column_key, extra
      from information_schema.columns where table_schema = database() order by table_name, ordinal_position`.execute(db);
    const indexes = await sql`select table_name, index_name, seq_in_index, column_name, non_unique, sub_part, index_type
      from information_schema.statistics where table_schema = database() order by table_name, index_name, seq_in_index`.execute(db);
    const database = await sql`select default_character_set_name, default_collation_name
      from information_schema.schemata where schema_name = database()`.execute(db);
    return { tables: tables.rows, columns: columns.rows, indexes: indexes.rows, database: database.rows };
  }
  const objects = await sql`select type, name, tbl_name, sql from sqlite_master order by type, name`.execute(db);
  return { objects: objects.rows };
}

async function appliedNames(db: Kysely<any>): Promise<string[]> {
  const r = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return r.rows.map((row) => row.name);
}

let cleanSchema: unknown;

beforeAll(async () => {
  const clean = await open();
  try {
    await migrateToLatest(clean.handle.db, () => undefined);
    cleanSchema = await schemaOf(clean.handle.db);
  } finally {
    await clean.close();
  }
});

/**
 * A fresh database migrated up to just before `name`, then `name`'s own up() with its schema
 * statements cut after `limit` and the migration left unrecorded; resolves with how many of
 * its statements ran.
 */
async function cutOff(opened: Opened, name: string, limit: number): Promise<number> {
  const index = MIGRATION_NAMES.indexOf(name);
  if (index > 0) {
    const { error } = await new Migrator({ db: opened.handle.db, provider }).migrateTo(MIGRATION_NAMES[index - 1]);
    if (error) throw error;
  }
  const { plugin, counter } = cutAfter(limit);
  await migrations[name].up(opened.handle.db.withPlugin(plugin)).catch((err: unknown) => {
    if (!(err instanceof Cut)) throw err;
  });
  return Math.min(counter.statements, limit);
}

/** Runs the runner over a cut-off database and checks it ends at the clean schema with every migration recorded. */
async function expectRerunCompletes(opened: Opened, what: string) {
  await expect(
    migrateToLatest(opened.handle.db, () => undefined),
    what,
  ).resolves.toBeDefined();
  expect(await schemaOf(opened.handle.db), what).toEqual(cleanSchema);
  expect(await appliedNames(opened.handle.db), what).toEqual([...MIGRATION_NAMES]);
}

/** Where to cut a migration of `n` statements besides after its last: after the first, the middle one and the one before last. */
const cutPoints = (n: number) => [...new Set([1, Math.ceil(n / 2), n - 1])].filter((k) => k >= 1 && k < n);

describe(`a migration cut off between its statements (${TEST_DB})`, () => {
  for (const name of MIGRATION_NAMES) {
    it(`${name}: the next run finishes it, wherever it was cut`, async () => {
      // All of its statements run but the migration is not recorded (cut just before the record).
      const whole = await open();
      let statements: number;
      try {
        statements = await cutOff(whole, name, Infinity);
        await expectRerunCompletes(whole, `${name}, all ${statements} statements applied`);
      } finally {
        await whole.close();
      }
      for (const k of cutPoints(statements)) {
        const opened = await open();
        try {
          expect(await cutOff(opened, name, k)).toBe(k);
          await expectRerunCompletes(opened, `${name}, cut after statement ${k} of ${statements}`);
        } finally {
          await opened.close();
        }
      }
    });
  }
});
