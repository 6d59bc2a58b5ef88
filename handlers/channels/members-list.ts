/**
 * GET /api/channels/:channelId/members — 200 {members: [{userId, joinedAt}]}. Who: readers of the channel. Errors: 401, 404.
 */
import { listChannelMembers } from '../../lib/channels/channels.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'The members of a channel',
  who: 'readers of the channel',
  success: { 200: '{members: [{userId, joinedAt}]}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/members', doc }, async ({ ctx, principal, params }) => {
  await requireReadableChannel(ctx.database.db, principal, params.channelId);
  return { members: await listChannelMembers(ctx.database.db, params.channelId) };
});
