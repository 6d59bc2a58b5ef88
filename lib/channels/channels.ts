import { z } from 'zod';
import { isGuildAdmin, type GuildStanding } from '../access.js';
import type { Principal } from '../center/client.js';
import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { lockChannel } from '../db/dialect.js';
import { badRequest, notFound, wrongChannelType } from '../errors.js';
import type { ChannelView } from '../guilds/standing.js';
import { isoTime, newId } from '../ids.js';
import { withFields } from '../objects.js';
import { emitTo } from '../realtime/emitter.js';
import { inTransaction } from '../realtime/outbox.js';
import { createTurnState, hasTurnEngine, rearmSpeakerClock } from '../turns/turn-store.js';
import { pushLoopGuardEvent, saveLoopGuard } from './loop-guard.js';
import type { ChannelXType } from '../realtime/events.js';
import { addChannelMembers } from './membership.js';
import { loadChannel, toChannel, type Channel } from './channel-shape.js';
import { NO_READ_STATE } from './read-positions.js';

export const CHANNEL_TYPES = ['general', 'work', 'report', 'discuss', 'triage', 'custom'] as const satisfies readonly ChannelXType[];
export type ChannelType = (typeof CHANNEL_TYPES)[number];
/** Speaker timeout in seconds (agent-rooms.md): 1–86400, or null = off. */
export const turnTimeoutSchema = z.number().int().min(1).max(86400).nullable();
/** Agent messages in a row before the loop guard trips: 1–1000, or null = off. */
export const agentLoopLimitSchema = z.number().int().min(1).max(1000).nullable();
export const hasWakeMapping = (xType: string) => xType === 'triage' || xType === 'custom';

export interface CreateChannelInput {
  guildId: string;
  name: string;
  xType: ChannelType;
  isPublic: boolean;
  topic: string;
  memberUserIds: string[];
  wakeUserIds: string[];
  turn?: { order?: string[]; bypass?: string[]; timeoutSeconds?: number | null };
  repliesWake?: boolean;
  agentLoopLimit?: number | null;
}

/** The agent-room settings of a channel (agent-rooms.md), as a create or a PATCH gives them. */
export interface ChannelSettings {
  repliesWake?: boolean;
  turnTimeoutSeconds?: number | null;
  agentLoopLimit?: number | null;
}

/** 400 wrong_channel_type for a turn-engine setting on a channel without the turn engine. */
function requireSettingsFit(xType: string, s: ChannelSettings): void {
  if (hasTurnEngine(xType)) return;
  if (s.repliesWake) throw wrongChannelType('repliesWake applies to discuss and work channels only');
  if (s.turnTimeoutSeconds !== undefined && s.turnTimeoutSeconds !== null) {
    throw wrongChannelType('the speaker timeout applies to discuss and work channels only');
  }
}

/**
 * Creates a channel with its seeded members, wake mapping and turn state in one
 * transaction, then emits `channel.joined` to every seeded member.
 */
export async function createChannel(ctx: AppContext, principal: Principal, input: CreateChannelInput): Promise<Channel> {
  if (input.wakeUserIds.length > 0 && !hasWakeMapping(input.xType)) throw wrongChannelType('wakeUserIds applies to triage and custom channels only');
  if (input.turn && !hasTurnEngine(input.xType)) throw wrongChannelType('turn applies to discuss and work channels only');
  requireSettingsFit(input.xType, input);
  const creator = principal.kind === 'user' ? principal.userId : null;
  const order = [...new Set(input.turn?.order ?? input.memberUserIds)];
  const bypass = [...new Set(input.turn?.bypass ?? (creator && !order.includes(creator) ? [creator] : []))];
  if (order.some((u) => bypass.includes(u))) throw badRequest('turn.order and turn.bypass must be disjoint', [{ field: 'turn', message: 'order and bypass overlap' }]);
  const seeded = [...new Set([...(creator ? [creator] : []), ...input.memberUserIds, ...input.wakeUserIds, ...order, ...bypass])];
  const { db } = ctx.database;
  const now = Date.now();
  const id = newId();
  const channel = { id, guild_id: input.guildId, x_type: input.xType };
  await inTransaction(ctx, async (trx, outbox) => {
    await trx
      .insertInto('channels')
      .values({
        id,
        guild_id: input.guildId,
        name: input.name,
        topic: input.topic,
        x_type: input.xType,
        is_public: input.isPublic ? 1 : 0,
        closed: 0,
        created_by: creator ?? `guild:${input.guildId}`,
        created_at: now,
        replies_wake: input.repliesWake ? 1 : 0,
        turn_timeout_seconds: input.turn?.timeoutSeconds ?? null,
        agent_loop_limit: input.agentLoopLimit ?? null,
      })
      .execute();
    if (hasTurnEngine(input.xType)) await createTurnState(trx, id, order, bypass, now);
    // The turn lists were set by createTurnState: seeding must not append the members again.
    await addChannelMembers(trx, ctx, outbox, channel, seeded, { now, turnState: false });
    if (hasWakeMapping(input.xType)) await replaceWakeRows(trx, id, input.wakeUserIds);
  });
  return loadChannel(db, id);
}

/**
 * Channels of a guild the caller can read, by name, each with `isMember` and, for a user
 * caller, its read state (null for a guild token). One query: member counts and unread
 * counts are correlated counts over their indexes, not a query per channel.
 */
export async function listReadableChannels(db: Db, principal: Principal, standing: GuildStanding) {
  const userId = principal.kind === 'user' ? principal.userId : null;
  const rows = await db
    .selectFrom('channels as c')
    .leftJoin('channel_members as cm', (j) => j.onRef('cm.channel_id', '=', 'c.id').on('cm.user_id', '=', userId ?? ''))
    .selectAll('c')
    .select(['cm.user_id as member', 'cm.read_seq as read_seq'])
    .select((eb) =>
      eb
        .selectFrom('channel_members as m')
        .select((e2) => e2.fn.countAll<number>().as('n'))
        .whereRef('m.channel_id', '=', 'c.id')
        .as('member_count'),
    )
    .$if(userId !== null, (qb) =>
      qb.select((eb) =>
        eb
          .selectFrom('messages as um')
          .select((e2) => e2.fn.countAll<number>().as('n'))
          .whereRef('um.channel_id', '=', 'c.id')
          .where((e2) => e2('um.seq', '>', e2.fn.coalesce('cm.read_seq', e2.lit(0))))
          .where('um.deleted_at', 'is', null)
          .where('um.author_id', '<>', userId ?? '')
          .as('unread_count'),
      ),
    )
    .where('c.guild_id', '=', standing.guildId)
    .orderBy('c.name')
    .orderBy('c.id')
    .execute();
  const admin = isGuildAdmin(standing);
  return rows
    .filter((r) => admin || r.is_public || r.member != null)
    .map(({ member, member_count, read_seq, unread_count, ...c }) => ({
      ...toChannel({ ...c, last_seq: Number(c.last_seq) }, Number(member_count ?? 0)),
      isMember: member != null,
      ...(userId === null ? NO_READ_STATE : { readSeq: Number(read_seq ?? 0), unreadCount: Number(unread_count ?? 0) }),
    }));
}

export interface ChannelPatch extends ChannelSettings {
  name?: string;
  topic?: string;
  isPublic?: boolean;
  closed?: boolean;
}

/**
 * Applies a PATCH under the channel lock and emits `channel.updated`. A new speaker timeout
 * re-arms the current speaker's clock from now; a loop limit turned off also clears the guard.
 */
export async function updateChannel(ctx: AppContext, view: ChannelView, patch: ChannelPatch) {
  requireSettingsFit(view.channel.x_type, patch);
  const set: Record<string, string | number | null> = {};
  if (patch.name !== undefined) set.name = patch.name;
  if (patch.topic !== undefined) set.topic = patch.topic;
  if (patch.isPublic !== undefined) set.is_public = patch.isPublic ? 1 : 0;
  if (patch.closed !== undefined) set.closed = patch.closed ? 1 : 0;
  if (patch.repliesWake !== undefined) set.replies_wake = patch.repliesWake ? 1 : 0;
  if (patch.turnTimeoutSeconds !== undefined) set.turn_timeout_seconds = patch.turnTimeoutSeconds;
  if (patch.agentLoopLimit !== undefined) set.agent_loop_limit = patch.agentLoopLimit;
  if (patch.agentLoopLimit === null) Object.assign(set, { loop_tripped: 0, agent_streak: 0 });
  if (Object.keys(set).length === 0) return loadChannel(ctx.database.db, view.channel.id);
  const { dialect } = ctx.database;
  // The change and its channel.updated commit together (the event is logged with it).
  return inTransaction(ctx, async (trx, outbox) => {
    if (!(await lockChannel(trx, dialect, view.channel.id))) throw notFound('channel');
    await trx.updateTable('channels').set(set).where('id', '=', view.channel.id).execute();
    if (patch.turnTimeoutSeconds !== undefined && hasTurnEngine(view.channel.x_type)) {
      await rearmSpeakerClock(trx, dialect, view.channel.id, patch.turnTimeoutSeconds, Date.now());
    }
    // Its channel.updated is the channel stream's next event: the channel as of that event.
    const loaded = await loadChannel(trx, view.channel.id);
    const channel = { ...loaded, eventPos: loaded.eventPos + 1 };
    const updated = emitTo.channel(channel.id, 'channel.updated', { channel });
    // Readers who lose access leave the room right after this event, on every realtime process.
    const leaveRooms = view.channel.is_public && patch.isPublic === false ? await readersLosingAccess(trx, channel) : [];
    outbox.push(leaveRooms.length > 0 ? withFields(updated, { leaveRooms: { userIds: leaveRooms, afterEvent: true } }) : updated);
    return channel;
  });
}

/**
 * Plain guild members who were reading a channel that stopped being public without being
 * members lose access (admins and members keep reading).
 */
async function readersLosingAccess(trx: Db, channel: Channel): Promise<string[]> {
  const readers = await trx
    .selectFrom('guild_members as gm')
    .leftJoin('channel_members as cm', (j) => j.onRef('cm.user_id', '=', 'gm.user_id').on('cm.channel_id', '=', channel.id))
    .select('gm.user_id')
    .where('gm.guild_id', '=', channel.guildId)
    .where('gm.role', '=', 'member')
    .where('cm.user_id', 'is', null)
    .execute();
  return readers.map((r) => r.user_id);
}

/** The user ids of a channel's members. */
export async function channelMemberIds(db: Db, channelId: string): Promise<string[]> {
  const rows = await db.selectFrom('channel_members').select('user_id').where('channel_id', '=', channelId).execute();
  return rows.map((r) => r.user_id);
}

/**
 * `POST /api/channels/:channelId/loop-guard/reset`: the guard is cleared (streak 0) under the
 * channel lock; `channel.loop_guard` tells the channel when it was tripped or counting.
 */
export async function resetLoopGuard(ctx: AppContext, channelId: string): Promise<Channel> {
  const { db, dialect } = ctx.database;
  await inTransaction(ctx, async (trx, outbox) => {
    if (!(await lockChannel(trx, dialect, channelId))) throw notFound('channel');
    const row = await trx.selectFrom('channels').select(['loop_tripped', 'agent_streak']).where('id', '=', channelId).executeTakeFirstOrThrow();
    if (!row.loop_tripped && Number(row.agent_streak) === 0) return;
    const guard = { tripped: false, agentStreak: 0 };
    await saveLoopGuard(trx, channelId, guard);
    pushLoopGuardEvent(outbox, channelId, guard);
  });
  return loadChannel(db, channelId);
}

/** The members of a channel, by join time. */
export async function listChannelMembers(db: Db, channelId: string) {
  const rows = await db.selectFrom('channel_members').select(['user_id', 'joined_at']).where('channel_id', '=', channelId).orderBy('joined_at').orderBy('user_id').execute();
  return rows.map((r) => ({ userId: r.user_id, joinedAt: isoTime(r.joined_at) }));
}

/** Adds members (each must be a guild member); returns the ids actually added. */
export async function addMembersToChannel(ctx: AppContext, view: ChannelView, userIds: string[], bypass: boolean, actorId: string | null): Promise<string[]> {
  const { dialect } = ctx.database;
  return inTransaction(ctx, async (trx, outbox) => {
    await lockChannel(trx, dialect, view.channel.id);
    return addChannelMembers(trx, ctx, outbox, view.channel, userIds, { bypass, actorId });
  });
}

/** The wake mapping of a channel, in the order it was given. */
export async function getWakeMapping(db: Db, channelId: string): Promise<string[]> {
  const rows = await db.selectFrom('channel_wake_users').select('user_id').where('channel_id', '=', channelId).orderBy('position').execute();
  return rows.map((r) => r.user_id);
}

async function replaceWakeRows(trx: Db, channelId: string, userIds: readonly string[]) {
  await trx.deleteFrom('channel_wake_users').where('channel_id', '=', channelId).execute();
  const ids = [...new Set(userIds)];
  if (ids.length > 0)
    await trx
      .insertInto('channel_wake_users')
      .values(ids.map((user_id, position) => ({ channel_id: channelId, user_id, position })))
      .execute();
}

/** Replaces the wake mapping; users not yet in the channel become members (with `channel.joined`). */
export async function replaceWakeMapping(ctx: AppContext, view: ChannelView, userIds: string[], actorId: string | null): Promise<string[]> {
  const { db, dialect } = ctx.database;
  // The delete-and-insert of the wake rows takes gap locks that can cross those of another
  // channel's replacement on MySQL: a deadlock victim runs again, with a fresh outbox.
  await inTransaction(
    ctx,
    async (trx, outbox) => {
      await lockChannel(trx, dialect, view.channel.id);
      await replaceWakeRows(trx, view.channel.id, userIds);
      await addChannelMembers(trx, ctx, outbox, view.channel, userIds, { actorId });
    },
    { deadlockRetry: true },
  );
  return getWakeMapping(db, view.channel.id);
}
