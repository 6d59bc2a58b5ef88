/**
 * PUT /api/channels/:channelId/read — {seq} → {readSeq}: moves the caller's read position forward
 * (to at most the channel's lastSeq; a seq behind the stored one changes nothing and the stored one is answered).
 * Who: channel members (users). 200 {readSeq}. Errors: 400 bad_request, 401, 403 (a reader who is not a member,
 * a guild token), 404.
 */
import { z } from 'zod';
import { markRead } from '../../lib/channels/read-positions.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel, type ChannelView } from '../../lib/guilds/standing.js';
import type { Principal } from '../../lib/center/client.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const body = z.object({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) });

const doc: RouteDoc = {
  tag: 'Channels',
  summary: "Move the caller's read position forward",
  who: 'channel members (users)',
  body,
  success: { 200: '{readSeq}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

function requireMember(view: ChannelView, principal: Principal): string {
  if (principal.kind !== 'user' || !view.isMember) throw forbidden('only channel members keep a read position');
  return principal.userId;
}

export default defineHandler({ method: 'PUT', path: '/api/channels/:channelId/read', doc }, async ({ request, ctx, principal, params }) => {
  const { db } = ctx.database;
  const view = await requireReadableChannel(db, principal, params.channelId);
  const userId = requireMember(view, principal);
  const { seq } = await readJson(request, body);
  const readSeq = await markRead(db, params.channelId, userId, seq);
  // Removed between the check and the write.
  if (readSeq === null) throw forbidden('only channel members keep a read position');
  return { readSeq };
});
