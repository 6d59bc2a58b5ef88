/**
 * GET /api/messages/:messageId — one message (a tombstone when deleted).
 * Who: readers of its channel. 200 {message}. Errors: 401, 404.
 */
import { defineHandler } from '../../lib/http/handler.js';
import { requireReadableMessage } from '../../lib/messages/message-access.js';
import { toMessages } from '../../lib/messages/message-queries.js';

export default defineHandler({ method: 'GET', path: '/api/messages/:messageId' }, async ({ ctx, principal, params }) => {
  const { db } = ctx.database;
  const { row } = await requireReadableMessage(db, principal, params.messageId);
  const [message] = await toMessages(db, [row]);
  return { message };
});
