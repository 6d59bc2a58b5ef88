import type { Kysely } from 'kysely';
import { tableOptions } from './table-options.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * The edit flood limit's buckets (docs/operating-limits.md), one row per user and channel,
 * shaped as the post buckets (`tat_us`: the time at which the bucket would be full again) but
 * apart from them, so that editing never spends a user's posts.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('edit_rate_buckets')
    .ifNotExists()
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('tat_us', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('edit_rate_buckets_pk', ['channel_id', 'user_id'])
    .modifyEnd(tableOptions(db))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('edit_rate_buckets').ifExists().execute();
}
