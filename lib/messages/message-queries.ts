import type { Db } from '../db/index.js';
import { invalidReference } from '../errors.js';
import { loadAttachments } from '../files/attachments.js';
import { toMessage, type Message, type MessageRow } from './message-shape.js';

/** One message row by id (deleted ones included), or undefined. */
export function findMessage(db: Db, messageId: string): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('id', '=', messageId).executeTakeFirst();
}

/** The message an author already stored in a channel under `clientMsgId` (the idempotency key), or undefined. */
export function findByClientMsgId(db: Db, channelId: string, authorId: string, clientMsgId: string): Promise<MessageRow | undefined> {
  return db.selectFrom('messages').selectAll().where('channel_id', '=', channelId).where('author_id', '=', authorId).where('client_msg_id', '=', clientMsgId).executeTakeFirst();
}

/** 400 invalid_reference unless `replyToId` is a message of this channel (a deleted one still counts: its tombstone keeps the thread). */
export async function requireReplyTarget(db: Db, channelId: string, replyToId: string): Promise<{ authorId: string }> {
  const row = await db.selectFrom('messages').select(['id', 'author_id']).where('id', '=', replyToId).where('channel_id', '=', channelId).executeTakeFirst();
  if (!row) throw invalidReference('replyToId must be a message of this channel', { replyToId });
  return { authorId: row.author_id };
}

/** Rows in API shape, with their attachments (one query for all of them; none for tombstones). */
export async function toMessages(db: Db, rows: readonly MessageRow[], now = Date.now()): Promise<Message[]> {
  const live = rows.filter((r) => r.deleted_at === null).map((r) => r.id);
  const attachments = await loadAttachments(db, live, now);
  return rows.map((r) => toMessage(r, attachments.get(r.id)));
}

export interface PageQuery {
  before?: number;
  after?: number;
  limit: number;
}

/**
 * One page of a channel's history in ascending seq (api.md): the latest `limit`, the last
 * `limit` below `before`, or the first `limit` above `after`. Reads one row more than the
 * page to know `hasMore` (in the direction of paging) without a count.
 */
export async function listMessagePage(db: Db, channelId: string, page: PageQuery): Promise<{ messages: Message[]; hasMore: boolean }> {
  const forward = page.after !== undefined;
  let q = db.selectFrom('messages').selectAll().where('channel_id', '=', channelId);
  if (page.after !== undefined) q = q.where('seq', '>', page.after);
  if (page.before !== undefined) q = q.where('seq', '<', page.before);
  const rows = await q
    .orderBy('seq', forward ? 'asc' : 'desc')
    .limit(page.limit + 1)
    .execute();
  const hasMore = rows.length > page.limit;
  const pageRows = rows.slice(0, page.limit);
  if (!forward) pageRows.reverse();
  return { messages: await toMessages(db, pageRows), hasMore };
}
