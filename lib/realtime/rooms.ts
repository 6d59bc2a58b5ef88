/** Room names have one grammar, built here only. */
export const rooms = {
  user: (userId: string) => `user:${userId}`,
  guild: (guildId: string) => `guild:${guildId}`,
  channel: (channelId: string) => `channel:${channelId}`,
  /** Per-user sub-room of a channel: lets per-recipient `wakeup` go out as two room broadcasts. */
  channelUser: (channelId: string, userId: string) => `channel:${channelId}:user:${userId}`,
  /** The rooms a user's socket subscribed to a channel is in (a guild token's socket: the channel room alone). */
  ofChannelSubscriber: (channelId: string, userId: string | null) => (userId === null ? [`channel:${channelId}`] : [`channel:${channelId}`, `channel:${channelId}:user:${userId}`]),
};

/** What a room name says (the inverse of `rooms`); null for a name of another grammar (a socket's own room). */
export type ParsedRoom = { user: string } | { guild: string } | { channel: string; user?: string };

const CHANNEL_USER = ':user:';

export function parseRoom(room: string): ParsedRoom | null {
  if (room.startsWith('user:')) return { user: room.slice(5) };
  if (room.startsWith('guild:')) return { guild: room.slice(6) };
  if (!room.startsWith('channel:')) return null;
  // Channel ids are the node's own (no colon); a user id, from Center, may hold anything after the separator.
  const at = room.indexOf(CHANNEL_USER, 8);
  return at < 0 ? { channel: room.slice(8) } : { channel: room.slice(8, at), user: room.slice(at + CHANNEL_USER.length) };
}
