/**
 * GET /api/channels/:channelId/wake-mapping — 200 {userIds}. Who: readers. triage/custom only.
 * Errors: 400 wrong_channel_type, 401, 404.
 */
import { getWakeMapping, hasWakeMapping } from '../../lib/channels/channels.js';
import { wrongChannelType } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'The wake mapping of a triage/custom channel',
  who: 'readers',
  success: { 200: '{userIds}' },
  errors: { 400: ['wrong_channel_type'], 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/wake-mapping', doc }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!hasWakeMapping(view.channel.x_type)) throw wrongChannelType('wake mappings exist in triage and custom channels only');
  return { userIds: await getWakeMapping(ctx.database.db, view.channel.id) };
});
