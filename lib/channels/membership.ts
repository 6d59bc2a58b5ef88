import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { insertIgnore } from '../db/dialect.js';
import { invalidReference } from '../errors.js';
import { emitTo } from '../realtime/emitter.js';
import type { Outbox } from '../realtime/outbox.js';
import { applyTurnMembership } from '../turns/turn-store.js';

export interface ChannelRef {
  id: string;
  guild_id: string;
  x_type: string;
}

const membershipEvent = (channel: ChannelRef, userId: string, now: number) => ({
  channelId: channel.id,
  userId,
  xType: channel.x_type,
  occurredAt: new Date(now).toISOString(),
});

/** Throws 400 invalid_reference unless every id is a member of the guild. */
export async function requireGuildMembers(db: Db, guildId: string, userIds: readonly string[]): Promise<void> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return;
  const found = new Set(
    (await db.selectFrom('guild_members').select('user_id').where('guild_id', '=', guildId).where('user_id', 'in', ids).execute()).map((r) => r.user_id),
  );
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw invalidReference('these users are not members of the guild', { userIds: missing });
}

/**
 * Adds channel members inside a transaction that holds the channel's row lock; returns the
 * ids actually inserted. Each insert queues `channel.joined`; in discuss/work channels the
 * new members join the turn order (or bypass).
 */
export async function addChannelMembers(
  trx: Db,
  ctx: AppContext,
  outbox: Outbox,
  channel: ChannelRef,
  userIds: readonly string[],
  opts: { bypass?: boolean; now?: number; turnState?: boolean; actorId?: string | null } = {},
): Promise<string[]> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return [];
  const now = opts.now ?? Date.now();
  const existing = new Set(
    (await trx.selectFrom('channel_members').select('user_id').where('channel_id', '=', channel.id).where('user_id', 'in', ids).execute()).map((r) => r.user_id),
  );
  const fresh = ids.filter((id) => !existing.has(id));
  await insertIgnore(trx, ctx.database.dialect, 'channel_members', fresh.map((user_id) => ({ channel_id: channel.id, user_id, joined_at: now })));
  for (const userId of fresh) outbox.push(emitTo.user(userId, 'channel.joined', membershipEvent(channel, userId, now)));
  if (opts.turnState !== false) {
    await applyTurnMembership(trx, ctx, outbox, channel, fresh.map((userId) => ({ type: 'join' as const, userId, bypass: !!opts.bypass, actorId: opts.actorId ?? undefined })));
  }
  return fresh;
}

/**
 * Removes one user from the given channels inside a transaction; returns the channel ids
 * whose row was really deleted. Each removal queues `channel.left`, takes the user's sockets
 * out of the room, and takes the user out of the turn state.
 */
export async function removeChannelMemberships(
  trx: Db,
  ctx: AppContext,
  outbox: Outbox,
  channelIds: readonly string[],
  userId: string,
  /** Who removes (never woken by its own change); null for a guild token. */
  actorId: string | null,
): Promise<string[]> {
  if (channelIds.length === 0) return [];
  const channels = await trx.selectFrom('channels').select(['id', 'guild_id', 'x_type']).where('id', 'in', [...channelIds]).execute();
  const removed: string[] = [];
  const now = Date.now();
  for (const channel of channels) {
    const r = await trx.deleteFrom('channel_members').where('channel_id', '=', channel.id).where('user_id', '=', userId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) continue;
    removed.push(channel.id);
    outbox.push(emitTo.user(userId, 'channel.left', membershipEvent(channel, userId, now)));
    outbox.leaveRoom(userId, channel.id);
    await applyTurnMembership(trx, ctx, outbox, channel, [{ type: 'leave', userId, actorId: actorId ?? undefined }]);
  }
  return removed;
}
