import { type Kysely, MysqlAdapter, sql } from 'kysely';

/**
 * Table options for CREATE TABLE: InnoDB + utf8mb4_bin on MySQL (binary collation, because
 * ids are case-sensitive opaque strings), nothing on SQLite. Part of the frozen migrations.
 * Migration 2026120670 moves every table to the server's NO PAD binary collation; a table
 * created by a later migration must be created or converted likewise (`exactCollation`).
 */
export function tableOptions(db: Kysely<any>) {
  return db.getExecutor().adapter instanceof MysqlAdapter ? sql`ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin` : sql``;
}
