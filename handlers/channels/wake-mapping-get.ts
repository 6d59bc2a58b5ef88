/**
 * GET /api/channels/:channelId/wake-mapping — 200 {userIds}. Who: readers. triage/custom only.
 * Errors: 400 wrong_channel_type, 401, 404.
 */
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { getWakeMapping, hasWakeMapping } from '../../lib/channels/channels.js';
import { wrongChannelType } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId/wake-mapping',
  access: channelReader,
  doc: {
    tag: 'Channels',
    summary: 'The wake mapping of a triage/custom channel',
    success: { 200: '{userIds}' },
    errors: { 400: ['wrong_channel_type'], 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, access: view }) => {
    if (!hasWakeMapping(view.channel.x_type)) throw wrongChannelType('wake mappings exist in triage and custom channels only');
    return { userIds: await getWakeMapping(ctx.database.db, view.channel.id) };
  },
});
