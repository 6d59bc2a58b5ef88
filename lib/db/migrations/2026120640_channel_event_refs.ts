import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * The post path reads its own `message.created` back by the message id (`ref`): without this
 * index that read walked every logged event of the channel, so posting slowed as the log grew.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('channel_events_ref').on('channel_events').columns(['channel_id', 'ref']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('channel_events_ref').on('channel_events').execute();
}
