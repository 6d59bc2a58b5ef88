import { sql } from 'kysely';
import type { Db } from '../db/index.js';

/**
 * Read positions (agent-rooms.md "Read positions"): a member's `read_seq` on its membership
 * row. It only moves forward and never past the channel's `lastSeq`; the unread count is
 * the channel's messages after it, not deleted, not the caller's own.
 */

/** A user's read state in a channel as the API shows it; both null for a guild token. */
export interface ReadState {
  readSeq: number | null;
  unreadCount: number | null;
}
export const NO_READ_STATE: ReadState = { readSeq: null, unreadCount: null };

/**
 * Moves `userId`'s read position in `channelId` forward to `seq` (at most the channel's
 * lastSeq) in one statement, and returns the stored position; null when the user is not a
 * member. A `seq` behind the stored one changes nothing.
 */
export async function markRead(db: Db, channelId: string, userId: string, seq: number): Promise<number | null> {
  // Both databases: the target is read from the channel row in the statement itself, so a
  // concurrent post or a second call can never move the position back or past lastSeq.
  const target = sql<number>`(select case when c.last_seq < ${seq} then c.last_seq else ${seq} end
    from channels c where c.id = ${channelId})`;
  await db.updateTable('channel_members').set({ read_seq: target }).where('channel_id', '=', channelId).where('user_id', '=', userId).where('read_seq', '<', target).execute();
  const row = await memberRow(db, channelId, userId);
  return row ? Number(row.read_seq) : null;
}

const memberRow = (db: Db, channelId: string, userId: string) =>
  db.selectFrom('channel_members').select('read_seq').where('channel_id', '=', channelId).where('user_id', '=', userId).executeTakeFirst();

/** One user's read state in one channel (0 and every other member's live message when it never read it or is no member). */
export async function loadReadState(db: Db, channelId: string, userId: string): Promise<ReadState> {
  const member = await memberRow(db, channelId, userId);
  const readSeq = Number(member?.read_seq ?? 0);
  const r = await db
    .selectFrom('messages')
    .select((e) => e.fn.countAll<number>().as('n'))
    .where('channel_id', '=', channelId)
    .where('seq', '>', readSeq)
    .where('deleted_at', 'is', null)
    .where('author_id', '<>', userId)
    .executeTakeFirst();
  return { readSeq, unreadCount: Number(r?.n ?? 0) };
}
