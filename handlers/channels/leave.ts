/**
 * POST /api/channels/:channelId/leave — {left}; channel.left only when a row was deleted.
 * Who: any reader. A reader who is not a member (a guild token included: it is never a
 * member) gets {left: false}. Errors: 401, 404.
 */
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/leave' }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (principal.kind !== 'user' || !view.isMember) return { left: false };
  return { left: await leaveChannel(ctx, view.channel, principal.userId) };
});
