import type { AppContext } from '../context.js';
import { lockChannel } from '../db/dialect.js';
import { notFound } from '../errors.js';
import { inTransaction } from '../realtime/outbox.js';
import { addChannelMembers, removeChannelMemberships, type ChannelRef } from './membership.js';

/** Adds one user to a channel; false (and no event) when already a member. */
export async function joinChannel(ctx: AppContext, channel: ChannelRef, userId: string, bypass: boolean): Promise<boolean> {
  const { dialect } = ctx.database;
  const added = await inTransaction(ctx, async (trx, outbox) => {
    await lockChannel(trx, dialect, channel.id);
    // Removed from the guild since the caller's view was read: the channel no longer exists for it.
    return addChannelMembers(trx, ctx, outbox, channel, [userId], { bypass, actorId: userId, notInGuild: () => notFound('channel') });
  });
  return added.length > 0;
}

/** Removes one user from a channel (by itself or by `actorId`); false (and no event) when it was not a member. */
export async function leaveChannel(ctx: AppContext, channel: ChannelRef, userId: string, actorId: string | null = userId): Promise<boolean> {
  const { dialect } = ctx.database;
  const removed = await inTransaction(ctx, async (trx, outbox) => {
    await lockChannel(trx, dialect, channel.id);
    return removeChannelMemberships(trx, ctx, outbox, [channel.id], userId, actorId);
  });
  return removed.length > 0;
}
