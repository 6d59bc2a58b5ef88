/**
 * POST /api/channels/:channelId/leave — 200 {left}; channel.left only when a row was deleted.
 * Who: any reader. A reader who is not a member (a guild token included: it is never a
 * member) gets {left: false}. Errors: 401, 404.
 */
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/leave',
  access: channelReader,
  doc: {
    tag: 'Channels',
    summary: 'Leave a channel',
    success: { 200: '{left}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view }) => {
    if (principal.kind !== 'user' || !view.isMember) return { left: false };
    return { left: await leaveChannel(ctx, view.channel, principal.userId) };
  },
});
