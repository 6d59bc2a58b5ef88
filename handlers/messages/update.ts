/**
 * PATCH /api/messages/:messageId {content} — edit a message; mentions re-parsed, editedAt set.
 * Who: the author, while a channel member, within EDIT_WINDOW_SECONDS of createdAt. 200 {message};
 * emits message.updated (wakes nobody, turn engine untouched).
 * Errors: 400, 401, 403 (not the author, guild token, no longer a member), 404 (unknown, unreadable or deleted),
 * 409 channel_closed / edit_window_expired, 413, 415, 503 center_unavailable.
 */
import { z } from 'zod';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { contentSchema } from '../../lib/messages/content-schema.js';
import { editMessage } from '../../lib/messages/edit-message.js';
import { requireEditableMessage } from '../../lib/messages/message-access.js';

const body = z.object({ content: contentSchema });

const doc: RouteDoc = {
  tag: 'Messages',
  summary: 'Edit a message',
  who: 'the author, while a channel member, within EDIT_WINDOW_SECONDS of createdAt',
  body,
  success: { 200: '{message}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['channel_closed', 'edit_window_expired'], 413: ['payload_too_large'], 415: ['unsupported_media_type'], 503: ['center_unavailable'] },
};

export default defineHandler({ method: 'PATCH', path: '/api/messages/:messageId', doc }, async ({ request, ctx, principal, params }) => {
  const { row } = await requireEditableMessage(ctx.database.db, principal, params.messageId, ctx.config.editWindowSeconds, Date.now());
  const input = await readJson(request, body);
  return { message: await editMessage(ctx, row, input.content) };
});
