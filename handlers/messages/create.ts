/**
 * POST /api/channels/:channelId/messages — post a message, or an intercepted `/no-reply` / `/force-proceed`.
 * Who: channel members (users). 201 {message}; 200 {message} for a repeated clientMsgId (no new seq, no event);
 * 200 {intercepted, turn} for the two commands. Emits message.created (per-recipient wakeup), turn.updated.
 * Errors: 400 bad_request / invalid_reference (replyToId, attachmentIds), 401, 403 (not a member, guild token),
 * 404, 409 channel_closed, 413, 415, 429 rate_limited (the post flood limit, with Retry-After),
 * 503 center_unavailable (name mentions while Center is down).
 */
import { z } from 'zod';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { json } from '../../lib/http/respond.js';
import { contentSchema, nodeIdSchema } from '../../lib/messages/content-schema.js';
import { requireAuthorInChannel } from '../../lib/messages/message-access.js';
import { isBlankContent, MAX_ATTACHMENTS } from '../../lib/messages/message-rules.js';
import { postToChannel } from '../../lib/messages/post-message.js';
import { chars, storedText } from '../../lib/validation.js';

const body = z
  .object({
    content: contentSchema.default(''),
    replyToId: nodeIdSchema.nullish(),
    attachmentIds: z.array(nodeIdSchema).max(MAX_ATTACHMENTS).nullish(),
    clientMsgId: storedText().check(chars(1, 64)).nullish(),
  })
  .refine((b) => !isBlankContent(b.content) || (b.attachmentIds?.length ?? 0) > 0, {
    path: ['content'],
    message: 'content may be empty only when there are attachments',
  });

const doc: RouteDoc = {
  tag: 'Messages',
  summary: 'Post a message, or an intercepted `/no-reply` / `/force-proceed`',
  who: 'channel members (users)',
  body,
  success: { 201: '{message}', 200: '{message}' },
  errors: { 400: ['bad_request', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['channel_closed'], 413: ['payload_too_large'], 415: ['unsupported_media_type'], 429: ['rate_limited'], 503: ['center_unavailable'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/messages', doc }, async ({ request, ctx, principal, params }) => {
  // 404/403/409 answer before a bad body's 400/413/415, so the access check runs first when the body is refused.
  const input = await readJson(request, body, undefined, async () => {
    requireAuthorInChannel(await requireReadableChannel(ctx.database.db, principal, params.channelId), principal, 'posting a message');
  });
  const result = await postToChannel(ctx, principal, params.channelId, input);
  if ('intercepted' in result) return result;
  return json({ message: result.message }, result.created ? 201 : 200);
});
