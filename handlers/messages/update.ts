/**
 * PATCH /api/messages/:messageId {content} — edit a message; mentions re-parsed, editedAt set.
 * Who: the author, while a channel member, within EDIT_WINDOW_SECONDS of createdAt. 200 {message};
 * emits message.updated (wakes nobody, turn engine untouched).
 * Errors: 400, 401, 403 (not the author, guild token, no longer a member), 404 (unknown, unreadable or deleted),
 * 409 channel_closed / edit_window_expired, 413, 415, 429 rate_limited (the edit flood limit), 503 center_unavailable.
 */
import { z } from 'zod';
import { defineHandler } from '../../lib/http/handler.js';
import { contentSchema } from '../../lib/messages/content-schema.js';
import { editMessage } from '../../lib/messages/edit-message.js';
import { messageEditor } from '../../lib/messages/message-access-policies.js';

export default defineHandler({
  method: 'PATCH',
  path: '/api/messages/:messageId',
  access: messageEditor,
  body: z.object({ content: contentSchema }),
  doc: {
    tag: 'Messages',
    summary: 'Edit a message',
    success: { 200: '{message}' },
    errors: {
      400: ['bad_request'],
      401: ['unauthorized'],
      403: ['forbidden'],
      404: ['not_found'],
      409: ['channel_closed', 'edit_window_expired'],
      413: ['payload_too_large'],
      415: ['unsupported_media_type'],
      429: ['rate_limited'],
      503: ['center_unavailable'],
    },
  },
  run: async ({ ctx, access, body }) => ({ message: await editMessage(ctx, access.row, body.content) }),
});
