import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { insertIgnore, lockingRead } from '../db/dialect.js';
import { invalidReference, type HttpError } from '../errors.js';
import { withFields } from '../objects.js';
import { emitTo } from '../realtime/emitter.js';
import { loadChannel } from './channel-shape.js';
import type { ChannelXType } from '../realtime/events.js';
import type { Outbox } from '../realtime/outbox.js';
import { applyTurnMembership } from '../turns/turn-store.js';

export interface ChannelRef {
  id: string;
  guild_id: string;
  x_type: ChannelXType;
}

const membershipEvent = (channel: ChannelRef, userId: string, now: number) => ({
  channelId: channel.id,
  userId,
  xType: channel.x_type,
  occurredAt: new Date(now).toISOString(),
});

/**
 * Adds channel members inside a transaction that holds the channel's row lock; returns the
 * ids actually inserted. Every id must be a member of the guild (else 400 invalid_reference,
 * or what `notInGuild` says, and the transaction rolls back). Each insert queues
 * `channel.joined`; in discuss/work channels the new members join the turn order (or bypass).
 */
export async function addChannelMembers(
  trx: Db,
  ctx: AppContext,
  outbox: Outbox,
  channel: ChannelRef,
  userIds: readonly string[],
  opts: { bypass?: boolean; now?: number; turnState?: boolean; actorId?: string | null; notInGuild?: (userIds: string[]) => HttpError } = {},
): Promise<string[]> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return [];
  const { dialect } = ctx.database;
  const now = opts.now ?? Date.now();
  const existing = new Set(
    (await trx.selectFrom('channel_members').select('user_id').where('channel_id', '=', channel.id).where('user_id', 'in', ids).execute()).map((r) => r.user_id),
  );
  const fresh = ids.filter((id) => !existing.has(id));
  await insertIgnore(
    trx,
    dialect,
    'channel_members',
    fresh.map((user_id) => ({ channel_id: channel.id, user_id, joined_at: now })),
  );
  // Guild membership is checked here, after the insert and with a shared lock on the rows, not
  // before the transaction: a removal from the guild either waits for this commit and then
  // removes the new rows, or has removed the member and this check fails. Locks are taken in
  // the order of a post and of that removal: channel, channel members, guild members.
  const inGuild = new Set(
    (
      await trx.selectFrom('guild_members').select('user_id').where('guild_id', '=', channel.guild_id).where('user_id', 'in', ids).$call(lockingRead(dialect, 'share')).execute()
    ).map((r) => r.user_id),
  );
  const missing = ids.filter((id) => !inGuild.has(id));
  if (missing.length > 0) throw (opts.notInGuild ?? notGuildMembers)(missing);
  for (const userId of fresh) outbox.push(emitTo.user(userId, 'channel.joined', membershipEvent(channel, userId, now)));
  if (opts.turnState !== false) {
    await applyTurnMembership(
      trx,
      ctx,
      outbox,
      channel,
      fresh.map((userId) => ({ type: 'join' as const, userId, bypass: !!opts.bypass, actorId: opts.actorId ?? undefined })),
    );
  }
  return fresh;
}

const notGuildMembers = (userIds: string[]) => invalidReference('these users are not members of the guild', { userIds });

/**
 * Removes one user from the given channels inside a transaction; returns the channel ids
 * whose row was really deleted. Each removal queues `channel.left`, takes the user out of the
 * turn state, and queues `channel.updated` (the new memberCount), after which the user's
 * sockets leave the room.
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
  const channels = await trx
    .selectFrom('channels')
    .select(['id', 'guild_id', 'x_type'])
    .where('id', 'in', [...channelIds])
    .execute();
  const removed: string[] = [];
  const now = Date.now();
  for (const channel of channels) {
    const r = await trx.deleteFrom('channel_members').where('channel_id', '=', channel.id).where('user_id', '=', userId).executeTakeFirst();
    if (Number(r.numDeletedRows) === 0) continue;
    // Authors the post path checks by version are checked against the member rows again. Any
    // other delete of member rows must raise the version too (lib/db/members-versions.ts).
    await trx
      .updateTable('channels')
      .set((eb) => ({ members_version: eb('members_version', '+', 1) }))
      .where('id', '=', channel.id)
      .execute();
    removed.push(channel.id);
    outbox.push(emitTo.user(userId, 'channel.left', membershipEvent(channel, userId, now)));
    await applyTurnMembership(trx, ctx, outbox, channel, [{ type: 'leave', userId, actorId: actorId ?? undefined }]);
    // The removal's last channel event (the new memberCount): every realtime process takes the
    // user's sockets out of the room just before it, in the stream's order, whichever way the
    // event reaches it (a hand-over, another process through Redis, the log), so no later event
    // reaches them and a leave cannot overtake the member's re-adding.
    const loaded = await loadChannel(trx, channel.id);
    const updated = { ...loaded, eventPos: loaded.eventPos + outbox.queuedFor(channel.id) + 1 };
    outbox.push(withFields(emitTo.channel(channel.id, 'channel.updated', { channel: updated }), { leaveRooms: { userIds: [userId], afterEvent: false } }));
  }
  return removed;
}
