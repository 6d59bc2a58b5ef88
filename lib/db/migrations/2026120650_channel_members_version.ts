import { sql, type Kysely } from 'kysely';
import { addColumnOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * A channel's membership version, raised by every removal of one of its members (under the
 * channel's lock). The MySQL post path checks an author it has seen stored at a version
 * against that version instead of reading the channel's and the guild's member rows again
 * (lib/db/mysql-post-batches.ts).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await addColumnOnce(db, 'channels', 'members_version', 'bigint', (c) => c.notNull().defaultTo(sql`0`));
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channels').dropColumn('members_version').execute();
}
