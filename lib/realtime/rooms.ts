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
