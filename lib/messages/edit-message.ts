import type { AppContext } from '../context.js';
import { badRequest, notFound } from '../errors.js';
import { loadAttachments } from '../files/attachments.js';
import { emitTo } from '../realtime/emitter.js';
import { takeEditToken } from './flood-limits.js';
import { inTransaction } from '../realtime/outbox.js';
import { isBlankContent } from './message-rules.js';
import { toMessage, type Message, type MessageRow } from './message-shape.js';
import { resolveMentions } from './resolve-mentions.js';

/**
 * Replaces the content of a live message (the caller checked who may edit): mentions are
 * re-parsed (names translated again), `editedAt` set, `message.updated` emitted. An edit
 * wakes nobody and does not touch the turn engine; its content is never intercepted. It takes
 * a token of the author's edit bucket in the channel (429 when empty), given back when the
 * edit stores nothing.
 */
export async function editMessage(ctx: AppContext, row: MessageRow, newContent: string): Promise<Message> {
  const { db } = ctx.database;
  const now = Date.now();
  const attachments = (await loadAttachments(db, [row.id], now)).get(row.id) ?? [];
  if (isBlankContent(newContent) && attachments.length === 0) {
    throw badRequest('content may be empty only when the message has attachments', [{ field: 'content', message: 'must not be empty' }]);
  }
  const token = await takeEditToken(ctx.database, ctx.config, row.channel_id, row.author_id);
  try {
    const { content, mentions } = await resolveMentions(ctx.center, newContent);
    const set = { content, mentions: JSON.stringify(mentions), edited_at: now };
    return await inTransaction(ctx, async (trx, outbox) => {
      const r = await trx.updateTable('messages').set(set).where('id', '=', row.id).where('deleted_at', 'is', null).executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw notFound('message'); // deleted meanwhile
      const message = toMessage({ ...row, ...set }, attachments);
      outbox.push(emitTo.channel(row.channel_id, 'message.updated', message));
      return message;
    });
  } catch (err) {
    await token.giveBack();
    throw err;
  }
}
