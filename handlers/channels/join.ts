/**
 * POST /api/channels/:channelId/join — {bypass?} → 200 {joined}. Self-join: a public channel by a guild
 * member, any channel by a guild owner/admin. false when already a member (no event).
 * Errors: 400 bad_request, 401, 403 (guild token: no user to join), 404.
 */
import { z } from 'zod';
import { channelReaderUser } from '../../lib/channels/channel-access-policies.js';
import { joinChannel } from '../../lib/channels/join-leave.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/join',
  access: channelReaderUser,
  body: z.object({ bypass: z.boolean().default(false) }),
  doc: {
    tag: 'Channels',
    summary: 'Join a channel (self-join)',
    success: { 200: '{joined}: false when already a member' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view, body }) => ({ joined: await joinChannel(ctx, view.channel, principal.userId, body.bypass) }),
});
