/**
 * POST /api/channels/:channelId/messages — post a message, or an intercepted `/no-reply` / `/force-proceed`.
 * Who: channel members (users). 201 {message}; 200 {message} for a repeated clientMsgId (no new seq, no event);
 * 200 {intercepted, turn} for the two commands. Emits message.created (per-recipient wakeup), turn.updated.
 * Errors: 400 bad_request / invalid_reference (replyToId, attachmentIds), 401, 403 (not a member, guild token),
 * 404, 409 channel_closed, 413, 415, 429 rate_limited (the post flood limit, with Retry-After),
 * 503 center_unavailable (name mentions while Center is down).
 */
import { z } from 'zod';
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';
import { contentSchema, nodeIdSchema } from '../../lib/messages/content-schema.js';
import { channelAuthor } from '../../lib/messages/message-access-policies.js';
import { isBlankContent, MAX_ATTACHMENTS } from '../../lib/messages/message-rules.js';
import { postToChannel } from '../../lib/messages/post-message.js';
import { chars, storedText } from '../../lib/validation.js';

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/messages',
  access: channelAuthor,
  // postToChannel makes the author checks itself (a plain post to a channel it knows skips the
  // channel read); the policy answers first only when the body is refused (404/403/409 before 400/413/415).
  accessCheck: 'on-refusal',
  body: z
    .object({
      content: contentSchema.default(''),
      replyToId: nodeIdSchema.nullish(),
      attachmentIds: z.array(nodeIdSchema).max(MAX_ATTACHMENTS).nullish(),
      clientMsgId: storedText().check(chars(1, 64)).nullish(),
    })
    .refine((b) => !isBlankContent(b.content) || (b.attachmentIds?.length ?? 0) > 0, {
      path: ['content'],
      message: 'content may be empty only when there are attachments',
    }),
  doc: {
    tag: 'Messages',
    summary: 'Post a message, or an intercepted `/no-reply` / `/force-proceed`',
    success: { 201: '{message}', 200: '{message}' },
    errors: {
      400: ['bad_request', 'invalid_reference'],
      401: ['unauthorized'],
      403: ['forbidden'],
      404: ['not_found'],
      409: ['channel_closed'],
      413: ['payload_too_large'],
      415: ['unsupported_media_type'],
      429: ['rate_limited'],
      503: ['center_unavailable'],
    },
  },
  run: async ({ ctx, principal, params, body }) => {
    const result = await postToChannel(ctx, principal, params.channelId, body);
    if ('intercepted' in result) return result;
    return json({ message: result.message }, result.created ? 201 : 200);
  },
});
