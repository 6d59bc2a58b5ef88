import type { ChannelRef } from './membership.js';

/**
 * What never changes about a channel: its guild and its xType (fixed at creation; channels
 * are never deleted). Remembered per process so that the post path can go straight to its
 * one-round-trip transaction without reading the channel first. Bounded: past MAX_CHANNELS
 * the oldest entry is forgotten and read again on its channel's next post.
 *
 * Next to them, `guarded`: whether the channel had an agent loop limit when this process last
 * read it. Only a hint for the route of a post: the one-trip transaction stores nothing in a
 * channel with a limit (the guard is counted under the lock; on MySQL that refusal fails the
 * post's whole group-commit batch), so a channel last seen guarded is read first; a limit set
 * since is refused under the lock, and the read that follows brings the hint up to date.
 */
const MAX_CHANNELS = 100_000;

export interface ChannelFacts extends ChannelRef {
  guarded: boolean;
}

const known = new Map<string, ChannelFacts>();

export function rememberChannel(channel: ChannelRef & { agent_loop_limit?: number | null }): void {
  const guarded = channel.agent_loop_limit !== undefined && channel.agent_loop_limit !== null;
  const facts = known.get(channel.id);
  if (facts) {
    facts.guarded = guarded;
    return;
  }
  if (known.size >= MAX_CHANNELS) known.delete(known.keys().next().value!);
  known.set(channel.id, { id: channel.id, guild_id: channel.guild_id, x_type: channel.x_type, guarded });
}

/** The channel's immutable facts (and the `guarded` hint) if this process has seen it, else undefined. */
export function knownChannel(channelId: string): ChannelFacts | undefined {
  return known.get(channelId);
}
