import type { AppContext } from '../context.js';
import { messageTime } from '../db/dialect.js';
import { emitTo } from '../realtime/emitter.js';
import { inTransaction } from '../realtime/outbox.js';
import { toDeletedEvent, type MessageRow } from './message-shape.js';

/**
 * Soft delete (the caller checked who may delete): the row stays as a tombstone with its
 * seq; its content, mentions and attachment links are erased, so nothing deleted can be read
 * back or downloaded through it. Returns false (and emits nothing) when it was already
 * deleted — the conditional update makes concurrent deletes emit `message.deleted` once.
 */
export async function deleteMessage(ctx: AppContext, row: MessageRow): Promise<boolean> {
  return inTransaction(ctx, async (trx, outbox) => {
    // On createdAt's clock (messageTime), never before createdAt.
    const now = Math.max(await messageTime(trx, ctx.database.dialect), Number(row.created_at));
    const r = await trx.updateTable('messages').set({ deleted_at: now, content: '', mentions: '[]' }).where('id', '=', row.id).where('deleted_at', 'is', null).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return false;
    await trx.deleteFrom('message_attachments').where('message_id', '=', row.id).execute();
    outbox.push(emitTo.channel(row.channel_id, 'message.deleted', toDeletedEvent(row, now)));
    return true;
  });
}
