/**
 * POST /api/channels/:channelId/members — {userIds, bypass?} → 200 {added}; channel.joined per inserted row.
 * Who: any channel member, guild owner/admin, guild token. Errors: 400 bad_request / invalid_reference, 401, 403, 404.
 */
import { z } from 'zod';
import { userIdOf } from '../../lib/access.js';
import { addMembersToChannel } from '../../lib/channels/channels.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { userIdListSchema } from '../../lib/validation.js';

const body = z.object({ userIds: userIdListSchema, bypass: z.boolean().default(false) });

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Add channel members',
  who: 'any channel member, guild owner/admin, guild token',
  body,
  success: { 200: '{added}' },
  errors: { 400: ['bad_request', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/members', doc }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.isMember && !view.isGuildAdmin) throw forbidden('only channel members and guild admins may add members');
  const input = await readJson(request, body);
  return { added: await addMembersToChannel(ctx, view, input.userIds, input.bypass, userIdOf(principal)) };
});
