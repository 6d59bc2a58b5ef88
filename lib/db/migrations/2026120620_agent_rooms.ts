import type { Kysely } from 'kysely';
import { addColumnOnce, createIndexOnce } from './schema-steps.js';

// Frozen: never change what a shipped migration does (schema-steps.ts makes it re-runnable); add a new one.

/**
 * Agent rooms (agent-rooms.md): members are people or agents; channels carry the speaker
 * timeout, whether replies wake, and the agent loop guard; the turn state carries when the
 * current speaker became speaker and its deadline (indexed: the timer looks up due ones).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await addColumnOnce(db, 'guild_members', 'kind', 'varchar(16)', (c) => c.notNull().defaultTo('person'));
  await addColumnOnce(db, 'channels', 'turn_timeout_seconds', 'integer');
  await addColumnOnce(db, 'channels', 'replies_wake', 'integer', (c) => c.notNull().defaultTo(0));
  await addColumnOnce(db, 'channels', 'agent_loop_limit', 'integer');
  await addColumnOnce(db, 'channels', 'loop_tripped', 'integer', (c) => c.notNull().defaultTo(0));
  await addColumnOnce(db, 'channels', 'agent_streak', 'integer', (c) => c.notNull().defaultTo(0));
  await addColumnOnce(db, 'channel_turn_state', 'speaker_since', 'bigint');
  await addColumnOnce(db, 'channel_turn_state', 'deadline', 'bigint');
  await createIndexOnce(db, 'channel_turn_state_deadline_idx', 'channel_turn_state', (i) => i.column('deadline'));
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('channel_turn_state_deadline_idx').on('channel_turn_state').execute();
  for (const c of ['deadline', 'speaker_since']) await db.schema.alterTable('channel_turn_state').dropColumn(c).execute();
  for (const c of ['agent_streak', 'loop_tripped', 'agent_loop_limit', 'replies_wake', 'turn_timeout_seconds']) {
    await db.schema.alterTable('channels').dropColumn(c).execute();
  }
  await db.schema.alterTable('guild_members').dropColumn('kind').execute();
}
