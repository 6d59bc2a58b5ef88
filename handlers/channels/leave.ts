/**
 * POST /api/channels/:channelId/leave — {left}; channel.left only when a row was deleted.
 * Who: any reader (a reader who is not a member gets {left: false}). Errors: 401, 403 (guild token), 404.
 */
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { requireUser } from '../../lib/http/auth.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/leave' }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const user = requireUser(principal, 'leaving a channel');
  return { left: await leaveChannel(ctx, view.channel, user.userId) };
});
