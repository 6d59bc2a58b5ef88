/**
 * GET /api/messages/:messageId — one message (a tombstone when deleted).
 * Who: readers of its channel. 200 {message}. Errors: 401, 404.
 */
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { requireReadableMessage } from '../../lib/messages/message-access.js';
import { toMessages } from '../../lib/messages/message-queries.js';

const doc: RouteDoc = {
  tag: 'Messages',
  summary: 'One message (a tombstone when deleted)',
  who: 'readers of its channel',
  success: { 200: '{message}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/messages/:messageId', doc }, async ({ ctx, principal, params }) => {
  const { db } = ctx.database;
  const { row } = await requireReadableMessage(db, principal, params.messageId);
  const [message] = await toMessages(db, [row]);
  return { message };
});
