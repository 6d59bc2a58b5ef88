/**
 * PUT /api/channels/:channelId/read — {seq} → {readSeq}: moves the caller's read position forward
 * (to at most the channel's lastSeq; a seq behind the stored one changes nothing and the stored one is answered).
 * Who: channel members (users). 200 {readSeq}. Errors: 400 bad_request, 401, 403 (a reader who is not a member,
 * a guild token), 404.
 */
import { z } from 'zod';
import { channelMemberUser } from '../../lib/channels/channel-access-policies.js';
import { markRead } from '../../lib/channels/read-positions.js';
import { forbidden } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'PUT',
  path: '/api/channels/:channelId/read',
  access: channelMemberUser,
  body: z.object({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  doc: {
    tag: 'Channels',
    summary: "Move the caller's read position forward",
    success: { 200: '{readSeq}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, params, body }) => {
    const readSeq = await markRead(ctx.database.db, params.channelId, principal.userId, body.seq);
    // Removed between the check and the write.
    if (readSeq === null) throw forbidden('only channel members keep a read position');
    return { readSeq };
  },
});
