/**
 * POST /api/channels — create a channel with its seeded members, wake mapping, turn lists and
 * agent-room settings (turn.timeoutSeconds, repliesWake, agentLoopLimit).
 * Who: guild members and the guild token. 201 {channel}.
 * Errors: 400 bad_request / invalid_reference (ids not in the guild) / wrong_channel_type, 401, 404 (guild).
 */
import { z } from 'zod';
import { agentLoopLimitSchema, CHANNEL_TYPES, createChannel, turnTimeoutSchema } from '../../lib/channels/channels.js';
import { guildMember } from '../../lib/guilds/guild-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';
import { chars, storedText, userIdSchema } from '../../lib/validation.js';

const ids = z.array(userIdSchema).max(100);

export default defineHandler({
  method: 'POST',
  path: '/api/channels',
  // The guild is named in the body: the policy answers (404) before the rest of the body is validated (400).
  access: guildMember,
  body: z.object({
    guildId: z.string().min(1).max(64),
    name: storedText().trim().check(chars(1, 100)),
    xType: z.enum(CHANNEL_TYPES),
    isPublic: z.boolean().default(false),
    topic: storedText().check(chars(0, 1000)).default(''),
    memberUserIds: ids.default([]),
    wakeUserIds: ids.default([]),
    turn: z.object({ order: ids.optional(), bypass: ids.optional(), timeoutSeconds: turnTimeoutSchema.optional() }).optional(),
    repliesWake: z.boolean().default(false),
    agentLoopLimit: agentLoopLimitSchema.optional(),
  }),
  doc: {
    tag: 'Channels',
    summary: 'Create a channel with its seeded members, wake mapping and turn lists',
    success: { 201: '{channel}' },
    errors: { 400: ['bad_request', 'wrong_channel_type', 'invalid_reference'], 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, body }) => json({ channel: await createChannel(ctx, principal, body) }, 201),
});
