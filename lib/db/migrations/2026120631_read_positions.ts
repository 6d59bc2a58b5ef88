import { sql, type Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * A member's read position in a channel (agent-rooms.md "Read positions"): a column of the
 * membership, so it goes with it (a member who leaves and comes back starts from 0) and the
 * channel list reads it in the join it already makes.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channel_members').addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(sql`0`)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('channel_members').dropColumn('read_seq').execute();
}
