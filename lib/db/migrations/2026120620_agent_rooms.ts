import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Agent rooms (agent-rooms.md): members are people or agents; channels carry the speaker
 * timeout, whether replies wake, and the agent loop guard; the turn state carries when the
 * current speaker became speaker and its deadline (indexed: the timer looks up due ones).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('guild_members').addColumn('kind', 'varchar(16)', (c) => c.notNull().defaultTo('person')).execute();
  await db.schema.alterTable('channels').addColumn('turn_timeout_seconds', 'integer').execute();
  await db.schema.alterTable('channels').addColumn('replies_wake', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('channels').addColumn('agent_loop_limit', 'integer').execute();
  await db.schema.alterTable('channels').addColumn('loop_tripped', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('channels').addColumn('agent_streak', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('channel_turn_state').addColumn('speaker_since', 'bigint').execute();
  await db.schema.alterTable('channel_turn_state').addColumn('deadline', 'bigint').execute();
  await db.schema.createIndex('channel_turn_state_deadline_idx').on('channel_turn_state').column('deadline').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('channel_turn_state_deadline_idx').on('channel_turn_state').execute();
  for (const c of ['deadline', 'speaker_since']) await db.schema.alterTable('channel_turn_state').dropColumn(c).execute();
  for (const c of ['agent_streak', 'loop_tripped', 'agent_loop_limit', 'replies_wake', 'turn_timeout_seconds']) {
    await db.schema.alterTable('channels').dropColumn(c).execute();
  }
  await db.schema.alterTable('guild_members').dropColumn('kind').execute();
}
