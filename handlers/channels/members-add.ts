/**
 * POST /api/channels/:channelId/members — {userIds, bypass?} → 200 {added}; channel.joined per inserted row.
 * Who: any channel member, guild owner/admin, guild token. Errors: 400 bad_request / invalid_reference, 401, 403, 404.
 */
import { z } from 'zod';
import { userIdOf } from '../../lib/access.js';
import { channelMemberOrGuildAdmin } from '../../lib/channels/channel-access-policies.js';
import { addMembersToChannel } from '../../lib/channels/channels.js';
import { defineHandler } from '../../lib/http/handler.js';
import { userIdListSchema } from '../../lib/validation.js';

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/members',
  access: channelMemberOrGuildAdmin,
  body: z.object({ userIds: userIdListSchema, bypass: z.boolean().default(false) }),
  doc: {
    tag: 'Channels',
    summary: 'Add channel members',
    success: { 200: '{added}' },
    errors: { 400: ['bad_request', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view, body }) => ({ added: await addMembersToChannel(ctx, view, body.userIds, body.bypass, userIdOf(principal)) }),
});
