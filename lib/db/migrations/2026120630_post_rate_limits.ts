import type { Kysely } from 'kysely';
import { tableOptions } from './table-options.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * The post flood limit's buckets (agent-rooms.md "Flood control"), one row per user and
 * channel, kept in the database so that every API process sharing it sees one bucket. A
 * bucket is its theoretical arrival time (`tat_us`, epoch microseconds): the time at which
 * it would be full again; each post pushes it one interval further (docs/operating-limits.md).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('post_rate_buckets')
    .ifNotExists()
    .addColumn('channel_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(128)', (c) => c.notNull())
    .addColumn('tat_us', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('post_rate_buckets_pk', ['channel_id', 'user_id'])
    .modifyEnd(tableOptions(db))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('post_rate_buckets').ifExists().execute();
}
