/**
 * POST /api/channels/:channelId/turn/bypass — {userId} → 200 {turn}. moveToBypass: the user leaves `order` and `spoken` (and `passed`) and joins `bypass`;
 * turn.updated (reason `order`). Who: the channel's creator, guild owner/admin, guild token, or a channel
 * member moving itself. Errors: 400 bad_request (user not in order) / wrong_channel_type, 401, 403, 404.
 */
import { z } from 'zod';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { mayMoveTurnUser, moveTurnUser, requireTurnChannel, turnActorOf } from '../../lib/turns/turn-commands.js';
import { userIdSchema } from '../../lib/validation.js';

const body = z.object({ userId: userIdSchema });
const denied = () => forbidden('only the creator, a guild owner/admin, the guild token or the user itself may move a user');

const doc: RouteDoc = {
  tag: 'Turn engine',
  summary: 'Move a user from the turn order to bypass',
  who: "the channel's creator, guild owner/admin, guild token, or a channel member moving itself",
  body,
  success: { 200: '{turn}' },
  errors: { 400: ['bad_request', 'wrong_channel_type'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/turn/bypass', doc }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!mayMoveTurnUser(view, principal)) throw denied(); // no right at all, whatever the body says
  const { userId } = await readJson(request, body);
  if (!mayMoveTurnUser(view, principal, userId)) throw denied();
  const channel = requireTurnChannel(view.channel);
  return { turn: await moveTurnUser(ctx, channel, turnActorOf(principal), userId, 'bypass') };
});
