/**
 * GET /api/messages/:messageId — one message (a tombstone when deleted).
 * Who: readers of its channel. 200 {message}. Errors: 401, 404.
 */
import { defineHandler } from '../../lib/http/handler.js';
import { messageReader } from '../../lib/messages/message-access-policies.js';
import { toMessages } from '../../lib/messages/message-queries.js';

export default defineHandler({
  method: 'GET',
  path: '/api/messages/:messageId',
  access: messageReader,
  doc: {
    tag: 'Messages',
    summary: 'One message (a tombstone when deleted)',
    success: { 200: '{message}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, access }) => {
    const [message] = await toMessages(ctx.database.db, [access.row]);
    return { message };
  },
});
