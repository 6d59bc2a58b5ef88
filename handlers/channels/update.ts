/**
 * PATCH /api/channels/:channelId — name, topic, isPublic, closed, repliesWake, turnTimeoutSeconds,
 * agentLoopLimit (xType and unknown fields are ignored).
 * Who: the channel's creator, guild owner/admin, guild token. 200 {channel}; emits channel.updated.
 * Errors: 400 bad_request / wrong_channel_type (repliesWake true or a timeout outside discuss/work), 401, 403, 404.
 */
import { z } from 'zod';
import { channelAdmin } from '../../lib/channels/channel-access-policies.js';
import { agentLoopLimitSchema, turnTimeoutSchema, updateChannel } from '../../lib/channels/channels.js';
import { defineHandler } from '../../lib/http/handler.js';
import { chars, storedText } from '../../lib/validation.js';

export default defineHandler({
  method: 'PATCH',
  path: '/api/channels/:channelId',
  access: channelAdmin,
  body: z.object({
    name: storedText().trim().check(chars(1, 100)).optional(),
    topic: storedText().check(chars(0, 1000)).optional(),
    isPublic: z.boolean().optional(),
    closed: z.boolean().optional(),
    repliesWake: z.boolean().optional(),
    turnTimeoutSeconds: turnTimeoutSchema.optional(),
    agentLoopLimit: agentLoopLimitSchema.optional(),
  }),
  doc: {
    tag: 'Channels',
    summary: 'Change a channel (name, topic, isPublic, closed, agent-room settings)',
    success: { 200: '{channel}' },
    errors: { 400: ['bad_request', 'wrong_channel_type'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, access: view, body }) => ({ channel: await updateChannel(ctx, view, body) }),
});
