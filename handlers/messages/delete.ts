/**
 * DELETE /api/messages/:messageId — soft delete; the message becomes a tombstone with the same seq.
 * Who: the author, guild owner/admin, guild token. 204, also when already deleted (then no event);
 * emits message.deleted {id, channelId, seq, deletedAt} the first time.
 * Errors: 401, 403, 404, 409 channel_closed.
 */
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';
import { deleteMessage } from '../../lib/messages/delete-message.js';
import { requireDeletableMessage } from '../../lib/messages/message-access.js';

export default defineHandler({ method: 'DELETE', path: '/api/messages/:messageId' }, async ({ ctx, principal, params }) => {
  const { row } = await requireDeletableMessage(ctx.database.db, principal, params.messageId);
  await deleteMessage(ctx, row);
  return noContent();
});
