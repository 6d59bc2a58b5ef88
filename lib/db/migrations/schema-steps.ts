import { type AlterTableBuilder, type ColumnDefinitionBuilderCallback, type CreateIndexBuilder, type Kysely, MysqlAdapter, sql } from 'kysely';

/**
 * Schema steps that a migration can run again. MySQL and MariaDB commit each DDL statement on
 * its own, and kysely runs SQLite migrations outside a transaction too, so a migration cut off
 * between two statements is not recorded while its first statements stay applied. Each step
 * here checks the schema first and skips what is already there, so the next run finishes the
 * migration. Tables need no step: `createTable(...).ifNotExists()` is that check, in both
 * databases. Part of the frozen migrations: the only place they ask the schema what it has.
 */

type ColumnType = Parameters<AlterTableBuilder['addColumn']>[1];

/** `alter table <table> add <column> …` unless the table has that column. */
export async function addColumnOnce(db: Kysely<any>, table: string, column: string, type: ColumnType, build?: ColumnDefinitionBuilderCallback) {
  if (await hasColumn(db, table, column)) return;
  await db.schema.alterTable(table).addColumn(column, type, build).execute();
}

/** `create index <index> on <table> …` unless the table has an index of that name (MySQL has no `create index if not exists`). */
export async function createIndexOnce(db: Kysely<any>, index: string, table: string, build: (b: CreateIndexBuilder) => CreateIndexBuilder<any>) {
  if (await hasIndex(db, table, index)) return;
  await build(db.schema.createIndex(index).on(table)).execute();
}

const isMysql = (db: Kysely<any>) => db.getExecutor().adapter instanceof MysqlAdapter;

async function hasColumn(db: Kysely<any>, table: string, column: string): Promise<boolean> {
  const found = isMysql(db)
    ? await sql`select 1 from information_schema.columns where table_schema = database() and table_name = ${table} and column_name = ${column}`.execute(db)
    : await sql`select 1 from pragma_table_info(${table}) where name = ${column}`.execute(db);
  return found.rows.length > 0;
}

async function hasIndex(db: Kysely<any>, table: string, index: string): Promise<boolean> {
  const found = isMysql(db)
    ? await sql`select 1 from information_schema.statistics where table_schema = database() and table_name = ${table} and index_name = ${index}`.execute(db)
    : await sql`select 1 from sqlite_master where type = 'index' and tbl_name = ${table} and name = ${index}`.execute(db);
  return found.rows.length > 0;
}
