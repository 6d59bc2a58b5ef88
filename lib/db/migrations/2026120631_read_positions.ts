import { sql, type Kysely } from 'kysely';
import { addColumnOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * A member's read position in a channel (agent-rooms.md "Read positions"): a column of the
 * membership, so it goes with it (a member who leaves and comes back starts from 0) and the
 * channel list reads it in the join it already makes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await addColumnOnce(db, 'channel_members', 'read_seq', 'bigint', (c) => c.notNull().defaultTo(sql`0`));
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channel_members').dropColumn('read_seq').execute();
}
