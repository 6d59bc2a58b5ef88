/**
 * GET /api/channels/:channelId/members — {members: [{userId, joinedAt}]}. Who: readers of the channel. Errors: 401, 404.
 */
import { listChannelMembers } from '../../lib/channels/channels.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/members' }, async ({ ctx, principal, params }) => {
  await requireReadableChannel(ctx.database.db, principal, params.channelId);
  return { members: await listChannelMembers(ctx.database.db, params.channelId) };
});
