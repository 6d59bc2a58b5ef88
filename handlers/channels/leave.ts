/**
 * POST /api/channels/:channelId/leave — 200 {left}; channel.left only when a row was deleted.
 * Who: any reader. A reader who is not a member (a guild token included: it is never a
 * member) gets {left: false}. Errors: 401, 404.
 */
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Leave a channel',
  who: 'any reader',
  success: { 200: '{left}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/leave', doc }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (principal.kind !== 'user' || !view.isMember) return { left: false };
  return { left: await leaveChannel(ctx, view.channel, principal.userId) };
});
