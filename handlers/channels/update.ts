/**
 * PATCH /api/channels/:channelId — name, topic, isPublic, closed, repliesWake, turnTimeoutSeconds,
 * agentLoopLimit (xType and unknown fields are ignored).
 * Who: the channel's creator, guild owner/admin, guild token. 200 {channel}; emits channel.updated.
 * Errors: 400 bad_request / wrong_channel_type (repliesWake true or a timeout outside discuss/work), 401, 403, 404.
 */
import { z } from 'zod';
import { agentLoopLimitSchema, turnTimeoutSchema, updateChannel } from '../../lib/channels/channels.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { chars, storedText } from '../../lib/validation.js';

const body = z.object({
  name: storedText().trim().check(chars(1, 100)).optional(),
  topic: storedText().check(chars(0, 1000)).optional(),
  isPublic: z.boolean().optional(),
  closed: z.boolean().optional(),
  repliesWake: z.boolean().optional(),
  turnTimeoutSeconds: turnTimeoutSchema.optional(),
  agentLoopLimit: agentLoopLimitSchema.optional(),
});

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Change a channel (name, topic, isPublic, closed)',
  who: "the channel's creator, guild owner/admin, guild token",
  body,
  success: { 200: '{channel}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'PATCH', path: '/api/channels/:channelId', doc }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.canAdmin) throw forbidden('only the creator, a guild owner/admin or the guild token may change the channel');
  const patch = await readJson(request, body);
  return { channel: await updateChannel(ctx, view, patch) };
});
