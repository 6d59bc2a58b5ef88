/**
 * POST /api/channels/:channelId/loop-guard/reset — clears the agent loop guard (tripped false,
 * agentStreak 0); emits channel.loop_guard when it was tripped or counting. A body is ignored.
 * Who: the channel's creator, guild owner/admin, guild token. 200 {channel}. Errors: 401, 403, 404.
 */
import { channelAdmin } from '../../lib/channels/channel-access-policies.js';
import { resetLoopGuard } from '../../lib/channels/channels.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/loop-guard/reset',
  access: channelAdmin,
  doc: {
    tag: 'Channels',
    summary: 'Reset the agent loop guard',
    success: { 200: '{channel}' },
    errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, access: view }) => ({ channel: await resetLoopGuard(ctx, view.channel.id) }),
});
