import type { Db } from '../db/index.js';
import { notFound } from '../errors.js';
import type { ChannelRow } from '../guilds/standing.js';
import { isoTime } from '../ids.js';

/** The API shape of a channel (api.md "Channels"). */
export const toChannel = (c: ChannelRow, memberCount: number) => ({
  id: c.id,
  guildId: c.guild_id,
  name: c.name,
  topic: c.topic,
  xType: c.x_type,
  isPublic: !!c.is_public,
  closed: !!c.closed,
  createdBy: c.created_by,
  createdAt: isoTime(c.created_at),
  lastSeq: Number(c.last_seq),
  /** The channel stream's last position (realtime.md "Streams, positions and resume"). */
  eventPos: Number(c.last_pos),
  memberCount,
  repliesWake: !!c.replies_wake,
  turnTimeoutSeconds: c.turn_timeout_seconds === null ? null : Number(c.turn_timeout_seconds),
  agentLoopLimit: c.agent_loop_limit === null ? null : Number(c.agent_loop_limit),
  loopGuard: { tripped: !!c.loop_tripped, agentStreak: Number(c.agent_streak) },
});
export type Channel = ReturnType<typeof toChannel>;

/** Number of members of a channel. */
export async function countMembers(db: Db, channelId: string): Promise<number> {
  const r = await db
    .selectFrom('channel_members')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('channel_id', '=', channelId)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** A channel row in API shape, with its member count. */
export async function loadChannel(db: Db, channelId: string): Promise<Channel> {
  const c = await db.selectFrom('channels').selectAll().where('id', '=', channelId).executeTakeFirst();
  if (!c) throw notFound('channel');
  return toChannel({ ...c, last_seq: Number(c.last_seq) }, await countMembers(db, channelId));
}
