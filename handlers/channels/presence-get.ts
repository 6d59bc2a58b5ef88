/**
 * GET /api/channels/:channelId/presence — {online}: the channel's members with at least one connected socket on
 * this node (across realtime processes), sorted. Who: the channel's readers. 200 {online}. Errors: 401, 404.
 */
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { channelMemberIds } from '../../lib/channels/channels.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId/presence',
  access: channelReader,
  doc: {
    tag: 'Channels',
    summary: 'The channel members online on this node',
    success: { 200: '{online}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, params }) => {
    const online = await ctx.presence.onlineAmong(await channelMemberIds(ctx.database.db, params.channelId));
    return { online: [...online].sort() };
  },
});
