import { type Kysely, sql } from 'kysely';
import { tableOptions } from './table-options.js';
import { addColumnOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * The durable event log (realtime.md "Streams, positions and resume"). A channel's stream
 * position lives on its row (`channels.last_pos`, bumped by the post's seq bump itself); a
 * user's in `user_streams`. Events are kept in `channel_events` and `user_events`, keyed by
 * stream and position. `delivery` is the emit's delivery information as JSON (the
 * per-recipient wake), opaque to the log.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const opts = tableOptions(db);
  await addColumnOnce(db, 'channels', 'last_pos', 'bigint', (c) => c.notNull().defaultTo(0));
  await db.schema
    .createTable('user_streams')
    .ifNotExists()
    .addColumn('user_id', 'varchar(128)', (c) => c.primaryKey())
    .addColumn('last_pos', 'bigint', (c) => c.notNull())
    .modifyEnd(opts)
    .execute();
  for (const [table, key, size] of [
    ['channel_events', 'channel_id', 'varchar(36)'],
    ['user_events', 'user_id', 'varchar(128)'],
  ] as const) {
    await db.schema
      .createTable(table)
      .ifNotExists()
      .addColumn(key, size, (c) => c.notNull())
      .addColumn('pos', 'bigint', (c) => c.notNull())
      .addColumn('event', 'varchar(64)', (c) => c.notNull())
      .addColumn('data', sql`mediumtext`, (c) => c.notNull())
      .addColumn('delivery', sql`mediumtext`)
      // What the event is about (the message id of a message.created): lets the post path read its own event back.
      .addColumn('ref', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint(`${table}_pk`, [key, 'pos'])
      .modifyEnd(opts)
      .execute();
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('user_events').execute();
  await db.schema.dropTable('channel_events').execute();
  await db.schema.dropTable('user_streams').execute();
  await db.schema.alterTable('channels').dropColumn('last_pos').execute();
}
