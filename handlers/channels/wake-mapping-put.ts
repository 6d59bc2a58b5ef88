/**
 * PUT /api/channels/:channelId/wake-mapping — {userIds: [0–100]} replaces the list → 200 {userIds}; ids not yet
 * in the channel become members (channel.joined). Who: creator, guild owner/admin, guild token.
 * Errors: 400 bad_request / invalid_reference / wrong_channel_type, 401, 403, 404.
 */
import { z } from 'zod';
import { userIdOf } from '../../lib/access.js';
import { channelAdmin } from '../../lib/channels/channel-access-policies.js';
import { hasWakeMapping, replaceWakeMapping } from '../../lib/channels/channels.js';
import { wrongChannelType } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';
import { userIdSchema } from '../../lib/validation.js';

export default defineHandler({
  method: 'PUT',
  path: '/api/channels/:channelId/wake-mapping',
  access: channelAdmin,
  body: z.object({ userIds: z.array(userIdSchema).max(100) }),
  doc: {
    tag: 'Channels',
    summary: 'Replace the wake mapping of a triage/custom channel',
    success: { 200: '{userIds}' },
    errors: { 400: ['bad_request', 'wrong_channel_type', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view, body }) => {
    if (!hasWakeMapping(view.channel.x_type)) throw wrongChannelType('wake mappings exist in triage and custom channels only');
    return { userIds: await replaceWakeMapping(ctx, view, body.userIds, userIdOf(principal)) };
  },
});
