/**
 * PUT /api/channels/:channelId/wake-mapping — {userIds: [0–100]} replaces the list → 200 {userIds}; ids not yet
 * in the channel become members (channel.joined). Who: creator, guild owner/admin, guild token.
 * Errors: 400 bad_request / invalid_reference / wrong_channel_type, 401, 403, 404.
 */
import { z } from 'zod';
import { userIdOf } from '../../lib/access.js';
import { hasWakeMapping, replaceWakeMapping } from '../../lib/channels/channels.js';
import { forbidden, wrongChannelType } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { userIdSchema } from '../../lib/validation.js';

const body = z.object({ userIds: z.array(userIdSchema).max(100) });

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Replace the wake mapping of a triage/custom channel',
  who: 'creator, guild owner/admin, guild token',
  body,
  success: { 200: '{userIds}' },
  errors: { 400: ['bad_request', 'wrong_channel_type', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'PUT', path: '/api/channels/:channelId/wake-mapping', doc }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.canAdmin) throw forbidden('only the creator or a guild admin may change the wake mapping');
  const input = await readJson(request, body);
  if (!hasWakeMapping(view.channel.x_type)) throw wrongChannelType('wake mappings exist in triage and custom channels only');
  return { userIds: await replaceWakeMapping(ctx, view, input.userIds, userIdOf(principal)) };
});
