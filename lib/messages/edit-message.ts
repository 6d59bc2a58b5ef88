import type { AppContext } from '../context.js';
import { messageTime } from '../db/dialect.js';
import { badRequest, editWindowExpired, notFound } from '../errors.js';
import { loadAttachments } from '../files/attachments.js';
import { emitTo } from '../realtime/emitter.js';
import { takeEditToken } from './flood-limits.js';
import { inTransaction } from '../realtime/outbox.js';
import { isBlankContent, isEditWindowOpen } from './message-rules.js';
import { toMessage, type Message, type MessageRow } from './message-shape.js';
import { resolveMentions } from './resolve-mentions.js';

/**
 * Replaces the content of a live message (the caller checked who may edit): mentions are
 * re-parsed (names translated again), `editedAt` set, `message.updated` emitted. The window
 * is checked again in the update, and `editedAt` taken there, on createdAt's clock (the
 * database's on MySQL, `messageTime`), never before createdAt. An edit
 * wakes nobody and does not touch the turn engine; its content is never intercepted. It takes
 * a token of the author's edit bucket in the channel (429 when empty), given back when the
 * edit stores nothing.
 */
export async function editMessage(ctx: AppContext, row: MessageRow, newContent: string): Promise<Message> {
  const { db, dialect } = ctx.database;
  const attachments = (await loadAttachments(db, [row.id], Date.now())).get(row.id) ?? [];
  if (isBlankContent(newContent) && attachments.length === 0) {
    throw badRequest('content may be empty only when the message has attachments', [{ field: 'content', message: 'must not be empty' }]);
  }
  const token = await takeEditToken(ctx.database, ctx.config, row.channel_id, row.author_id);
  try {
    const { content, mentions } = await resolveMentions(ctx.center, newContent);
    return await inTransaction(ctx, async (trx, outbox) => {
      // On createdAt's clock (messageTime): the window is checked again at the write, and editedAt never precedes createdAt.
      const now = await messageTime(trx, dialect);
      const createdAt = Number(row.created_at);
      const set = { content, mentions: JSON.stringify(mentions), edited_at: Math.max(now, createdAt) };
      const windowStart = now - ctx.config.editWindowSeconds * 1000;
      const r = await trx.updateTable('messages').set(set).where('id', '=', row.id).where('deleted_at', 'is', null).where('created_at', '>=', windowStart).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) {
        // The window closed since the access check, or the message was deleted meanwhile.
        throw isEditWindowOpen(createdAt, now, ctx.config.editWindowSeconds) ? notFound('message') : editWindowExpired(ctx.config.editWindowSeconds);
      }
      const message = toMessage({ ...row, ...set }, attachments);
      outbox.push(emitTo.channel(row.channel_id, 'message.updated', message));
      return message;
    });
  } catch (err) {
    await token.giveBack();
    throw err;
  }
}
