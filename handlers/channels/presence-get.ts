/**
 * GET /api/channels/:channelId/presence — {online}: the channel's members with at least one connected socket on
 * this node (across realtime processes), sorted. Who: the channel's readers. 200 {online}. Errors: 401, 404.
 */
import { channelMemberIds } from '../../lib/channels/channels.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'The channel members online on this node',
  who: "the channel's readers",
  success: { 200: '{online}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/presence', doc }, async ({ ctx, principal, params }) => {
  const { db } = ctx.database;
  await requireReadableChannel(db, principal, params.channelId);
  const online = await ctx.presence.onlineAmong(await channelMemberIds(db, params.channelId));
  return { online: [...online].sort() };
});
