import type { Kysely } from 'kysely';
import { createIndexOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * The post path reads its own `message.created` back by the message id (`ref`): without this
 * index that read walked every logged event of the channel, so posting slowed as the log grew.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await createIndexOnce(db, 'channel_events_ref', 'channel_events', (i) => i.columns(['channel_id','ref']));
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('channel_events_ref').on('channel_events').execute();
}
