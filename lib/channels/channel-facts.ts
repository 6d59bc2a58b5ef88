import type { ChannelRef } from './membership.js';

/**
 * What never changes about a channel: its guild and its xType (fixed at creation; channels
 * are never deleted). Remembered per process so that the post path can go straight to its
 * one-round-trip transaction without reading the channel first. Bounded: past MAX_CHANNELS
 * the oldest entry is forgotten and read again on its channel's next post.
 */
const MAX_CHANNELS = 100_000;
const known = new Map<string, ChannelRef>();

export function rememberChannel(channel: ChannelRef): void {
  if (known.has(channel.id)) return;
  if (known.size >= MAX_CHANNELS) known.delete(known.keys().next().value!);
  known.set(channel.id, { id: channel.id, guild_id: channel.guild_id, x_type: channel.x_type });
}

/** The channel's immutable facts if this process has seen it, else undefined. */
export function knownChannel(channelId: string): ChannelRef | undefined {
  return known.get(channelId);
}
