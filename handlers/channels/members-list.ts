/**
 * GET /api/channels/:channelId/members — 200 {members: [{userId, joinedAt}]}. Who: readers of the channel. Errors: 401, 404.
 */
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { listChannelMembers } from '../../lib/channels/channels.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId/members',
  access: channelReader,
  doc: {
    tag: 'Channels',
    summary: 'The members of a channel',
    success: { 200: '{members: [{userId, joinedAt}]}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, params }) => ({ members: await listChannelMembers(ctx.database.db, params.channelId) }),
});
