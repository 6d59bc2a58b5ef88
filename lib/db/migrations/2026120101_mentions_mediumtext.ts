import { type Kysely, MysqlAdapter, sql } from 'kysely';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * `messages.mentions` holds the mention ids as JSON. As TEXT (64 KiB on MySQL) it could
 * overflow: 16000 characters of content can mention ids whose JSON escapes take up to six
 * bytes per character (control characters are valid in ids). MEDIUMTEXT, like `content`.
 * SQLite's TEXT has no such limit.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof MysqlAdapter)) return;
  await sql`alter table messages modify mentions mediumtext not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (!(db.getExecutor().adapter instanceof MysqlAdapter)) return;
  await sql`alter table messages modify mentions text not null`.execute(db);
}
