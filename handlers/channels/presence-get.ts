/**
 * GET /api/channels/:channelId/presence — {online}: the channel's members with at least one connected socket on
 * this node (across realtime processes), sorted. Who: the channel's readers. 200 {online}. Errors: 401, 404.
 */
import { channelMemberIds } from '../../lib/channels/channels.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/presence' }, async ({ ctx, principal, params }) => {
  const { db } = ctx.database;
  await requireReadableChannel(db, principal, params.channelId);
  const online = await ctx.presence.onlineAmong(await channelMemberIds(db, params.channelId));
  return { online: [...online].sort() };
});
