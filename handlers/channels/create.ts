/**
 * POST /api/channels — create a channel with its seeded members, wake mapping, turn lists and
 * agent-room settings (turn.timeoutSeconds, repliesWake, agentLoopLimit).
 * Who: guild members and the guild token. 201 {channel}.
 * Errors: 400 bad_request / invalid_reference (ids not in the guild) / wrong_channel_type, 401, 404 (guild).
 */
import { z } from 'zod';
import { agentLoopLimitSchema, CHANNEL_TYPES, createChannel, turnTimeoutSchema } from '../../lib/channels/channels.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { readJson, validate } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { json } from '../../lib/http/respond.js';
import { chars, storedText, userIdSchema } from '../../lib/validation.js';

const ids = z.array(userIdSchema).max(100);
const body = z.object({
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
});

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Create a channel with its seeded members, wake mapping and turn lists',
  who: 'guild members and the guild token',
  body,
  success: { 201: '{channel}' },
  errors: { 400: ['bad_request', 'wrong_channel_type', 'invalid_reference'], 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels', doc }, async ({ request, ctx, principal }) => {
  // The guild is named in the body, yet 404 (not a member) must win over 400 (api.md, order
  // of checks): read the JSON, check the guild when one is named, then validate the rest.
  const raw = await readJson(request, z.unknown());
  const named = body.shape.guildId.safeParse((raw as { guildId?: unknown } | null)?.guildId);
  if (named.success) await requireGuildStanding(ctx.database.db, principal, named.data);
  const input = validate(body, raw);
  return json({ channel: await createChannel(ctx, principal, input) }, 201);
});
