import { MysqlAdapter, sql, type Kysely } from 'kysely';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * MySQL and MariaDB compare `utf8mb4_bin` text with PAD SPACE: `'u_1 ' = 'u_1'` is true, so
 * an id sent with a trailing space found the rows of another id, which the code then used as
 * sent (a member removed by such an id kept its sockets in the channel's room). Every table
 * moves to the NO PAD binary collation of the server (`utf8mb4_nopad_bin` on MariaDB,
 * `utf8mb4_0900_bin` on MySQL 8): text compares exactly, as on SQLite. A server with neither
 * (MySQL 5.7) keeps PAD SPACE. Each table is rebuilt once (docs/operations.md).
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof MysqlAdapter)) return;
  const collation = await exactCollation(db);
  if (!collation) return;
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = database() and table_type = 'BASE TABLE' and table_collation <> ${collation}`.execute(db);
  for (const { name } of tables.rows) {
    await sql`alter table ${sql.table(name)} convert to character set utf8mb4 collate ${sql.raw(collation)}`.execute(db);
  }
  await sql`alter database character set utf8mb4 collate ${sql.raw(collation)}`.execute(db);
}

/** Back to PAD SPACE: `utf8mb4_bin`, as the tables were created. */
export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof MysqlAdapter)) return;
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = database() and table_type = 'BASE TABLE' and table_collation <> 'utf8mb4_bin'`.execute(db);
  for (const { name } of tables.rows) await sql`alter table ${sql.table(name)} convert to character set utf8mb4 collate utf8mb4_bin`.execute(db);
}

/** The server's NO PAD binary collation of utf8mb4, or null. */
export async function exactCollation(db: Kysely<any>): Promise<string | null> {
  const r = await sql<{ name: string }>`
    select collation_name as name from information_schema.collations
    where collation_name in ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin') order by collation_name = 'utf8mb4_nopad_bin' desc`.execute(db);
  return r.rows[0]?.name ?? null;
}
