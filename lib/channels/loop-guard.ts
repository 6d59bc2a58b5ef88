import type { Db } from '../db/index.js';
import type { MemberKind } from '../db/schema.js';
import type { Wakes } from '../messages/wake.js';
import { emitTo } from '../realtime/emitter.js';
import type { Outbox } from '../realtime/outbox.js';

/**
 * The agent loop guard (agent-rooms.md "Agent loop guard"): per channel, how many messages
 * agents posted in a row since a person last posted; at the channel's `agentLoopLimit` the
 * guard trips and agents are no longer woken there until a person posts or it is reset.
 * Counted only while a limit is set (a channel without one takes the one-round-trip post path).
 */

export interface LoopGuard {
  tripped: boolean;
  agentStreak: number;
}

/** The guard after a stored message by a member of `authorKind`; `event` when it tripped or was reset. */
export function nextLoopGuard(guard: LoopGuard, limit: number | null, authorKind: MemberKind): { guard: LoopGuard; event: boolean } {
  if (limit === null) return { guard, event: false };
  if (authorKind === 'person') return { guard: { tripped: false, agentStreak: 0 }, event: guard.tripped };
  const agentStreak = guard.agentStreak + 1;
  const trips = !guard.tripped && agentStreak >= limit;
  return { guard: { tripped: guard.tripped || trips, agentStreak }, event: trips };
}

/** The `channel.loop_guard` event, through the channel's normal emit path. */
export function pushLoopGuardEvent(outbox: Outbox, channelId: string, guard: LoopGuard): void {
  outbox.push(emitTo.channel(channelId, 'channel.loop_guard', { channelId, tripped: guard.tripped, agentStreak: guard.agentStreak }));
}

/**
 * Counts a stored message in the guard of a channel with a limit, inside the post transaction
 * (channel lock held): reads the guard and the author's kind, writes the new guard, queues
 * the event. Returns the guard in force for this message's wakes.
 */
export async function countMessageInLoopGuard(trx: Db, outbox: Outbox, channelId: string, authorId: string): Promise<LoopGuard> {
  const row = await trx
    .selectFrom('channels as c')
    .leftJoin('guild_members as gm', (j) => j.onRef('gm.guild_id', '=', 'c.guild_id').on('gm.user_id', '=', authorId))
    .select(['c.agent_loop_limit', 'c.loop_tripped', 'c.agent_streak', 'gm.kind'])
    .where('c.id', '=', channelId)
    .executeTakeFirstOrThrow();
  const before = { tripped: !!row.loop_tripped, agentStreak: Number(row.agent_streak) };
  const limit = row.agent_loop_limit === null ? null : Number(row.agent_loop_limit);
  const { guard, event } = nextLoopGuard(before, limit, (row.kind as MemberKind | null) ?? 'person');
  if (guard.tripped !== before.tripped || guard.agentStreak !== before.agentStreak) await saveLoopGuard(trx, channelId, guard);
  if (event) pushLoopGuardEvent(outbox, channelId, guard);
  return guard;
}

/** Writes the guard of a channel (caller holds its lock). */
export async function saveLoopGuard(trx: Db, channelId: string, guard: LoopGuard): Promise<void> {
  await trx
    .updateTable('channels')
    .set({ loop_tripped: guard.tripped ? 1 : 0, agent_streak: guard.agentStreak })
    .where('id', '=', channelId)
    .execute();
}

/** Up to this many woken ids are looked up by id; more (a general channel's members) read the guild's agents instead. */
const IDS_PER_LOOKUP = 500;

/**
 * `wakes` without the members of kind agent (the guard is tripped). One query whatever the
 * size of the wake set: a short one is looked up by id, a long one would bind more values
 * than a statement takes (SQLite: 32,766), so then every agent of the channel's guild is read.
 */
export async function withoutAgents(trx: Db, channelId: string, wakes: Wakes): Promise<Wakes> {
  const ids = Object.keys(wakes);
  if (ids.length === 0) return wakes;
  const agents = await trx
    .selectFrom('guild_members as gm')
    .innerJoin('channels as c', 'c.guild_id', 'gm.guild_id')
    .select('gm.user_id')
    .where('c.id', '=', channelId)
    .where('gm.kind', '=', 'agent')
    .$if(ids.length <= IDS_PER_LOOKUP, (q) => q.where('gm.user_id', 'in', ids))
    .execute();
  const out = { ...wakes };
  for (const a of agents) delete out[a.user_id];
  return out;
}
