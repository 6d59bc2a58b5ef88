/**
 * DELETE /api/messages/:messageId — soft delete; the message becomes a tombstone with the same seq.
 * Who: the author, guild owner/admin, guild token. 204, also when already deleted (then no event);
 * emits message.deleted {id, channelId, seq, deletedAt} the first time.
 * Errors: 401, 403, 404, 409 channel_closed.
 */
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';
import { deleteMessage } from '../../lib/messages/delete-message.js';
import { messageDeleter } from '../../lib/messages/message-access-policies.js';

export default defineHandler({
  method: 'DELETE',
  path: '/api/messages/:messageId',
  access: messageDeleter,
  doc: {
    tag: 'Messages',
    summary: 'Delete a message (soft: a tombstone keeps its seq)',
    success: { 204: 'no content' },
    errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['channel_closed'] },
  },
  run: async ({ ctx, access }) => {
    await deleteMessage(ctx, access.row);
    return noContent();
  },
});
