import type { AppContext } from '../context.js';
import { lockChannel, withTransaction } from '../db/dialect.js';
import { notFound } from '../errors.js';
import { Outbox } from '../realtime/outbox.js';
import { addChannelMembers, removeChannelMemberships, type ChannelRef } from './membership.js';

/** Adds one user to a channel; false (and no event) when already a member. */
export async function joinChannel(ctx: AppContext, channel: ChannelRef, userId: string, bypass: boolean): Promise<boolean> {
  const { db, dialect } = ctx.database;
  const outbox = new Outbox();
  const added = await withTransaction(db, dialect, async (trx) => {
    await lockChannel(trx, dialect, channel.id);
    // Removed from the guild since the caller's view was read: the channel no longer exists for it.
    return addChannelMembers(trx, ctx, outbox, channel, [userId], { bypass, actorId: userId, notInGuild: () => notFound('channel') });
  });
  outbox.sendTo(ctx.emitter);
  return added.length > 0;
}

/** Removes one user from a channel (by itself or by `actorId`); false (and no event) when it was not a member. */
export async function leaveChannel(ctx: AppContext, channel: ChannelRef, userId: string, actorId: string | null = userId): Promise<boolean> {
  const { db, dialect } = ctx.database;
  const outbox = new Outbox();
  const removed = await withTransaction(db, dialect, async (trx) => {
    await lockChannel(trx, dialect, channel.id);
    return removeChannelMemberships(trx, ctx, outbox, [channel.id], userId, actorId);
  });
  outbox.sendTo(ctx.emitter);
  return removed.length > 0;
}
