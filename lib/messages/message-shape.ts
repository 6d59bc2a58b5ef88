import type { MessageTable } from '../db/schema.js';
import type { Attachment } from '../files/attachments.js';
import { isoTime } from '../ids.js';

/** A `messages` row as read back (bigint columns may arrive as strings or numbers). */
export type MessageRow = MessageTable;

/**
 * The API shape of a message (api.md "Messages"). A deleted message is a tombstone: empty
 * content, no mentions, no attachments, `deletedAt` set, same `seq`.
 */
export function toMessage(row: MessageRow, attachments: readonly Attachment[] = []) {
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    channelId: row.channel_id,
    guildId: row.guild_id,
    seq: Number(row.seq),
    authorId: row.author_id,
    content: deleted ? '' : row.content,
    replyToId: row.reply_to_id,
    mentions: deleted ? [] : (JSON.parse(row.mentions) as string[]),
    attachments: deleted ? [] : [...attachments],
    clientMsgId: row.client_msg_id,
    createdAt: isoTime(row.created_at),
    editedAt: row.edited_at === null ? null : isoTime(row.edited_at),
    deletedAt: deleted ? isoTime(row.deleted_at!) : null,
  };
}
export type Message = ReturnType<typeof toMessage>;

/** The payload of `message.deleted` (realtime.md). */
export const toDeletedEvent = (row: Pick<MessageRow, 'id' | 'channel_id' | 'seq'>, deletedAt: number) => ({
  id: row.id,
  channelId: row.channel_id,
  seq: Number(row.seq),
  deletedAt: isoTime(deletedAt),
});
