/**
 * POST /api/channels/:channelId/members — {userIds, bypass?} → {added}; channel.joined per inserted row.
 * Who: any channel member, guild owner/admin, guild token. Errors: 400 bad_request / invalid_reference, 401, 403, 404.
 */
import { z } from 'zod';
import { userIdOf } from '../../lib/access.js';
import { addMembersToChannel } from '../../lib/channels/channels.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import { userIdListSchema } from '../../lib/validation.js';

const body = z.object({ userIds: userIdListSchema, bypass: z.boolean().default(false) });

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/members' }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.isMember && !view.isGuildAdmin) throw forbidden('only channel members and guild admins may add members');
  const input = await readJson(request, body);
  return { added: await addMembersToChannel(ctx, view, input.userIds, input.bypass, userIdOf(principal)) };
});
