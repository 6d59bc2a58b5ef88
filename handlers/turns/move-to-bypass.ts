/**
 * POST /api/channels/:channelId/turn/bypass — {userId} → 200 {turn}. moveToBypass: the user leaves `order` and `spoken` (and `passed`) and joins `bypass`;
 * turn.updated (reason `order`). Who: the channel's creator, guild owner/admin, guild token, or a channel
 * member moving itself. Errors: 400 bad_request (user not in order) / wrong_channel_type, 401, 403, 404.
 */
import { z } from 'zod';
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { forbidden } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';
import { mayMoveTurnUser, moveTurnUser, requireTurnChannel, turnActorOf } from '../../lib/turns/turn-commands.js';
import { userIdSchema } from '../../lib/validation.js';

const denied = () => forbidden('only the creator, a guild owner/admin, the guild token or the user itself may move a user');

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/turn/bypass',
  access: channelReader,
  // No right to move anyone at all: 403 whatever the body says.
  guard: ({ principal, access: view }) => {
    if (!mayMoveTurnUser(view, principal)) throw denied();
  },
  body: z.object({ userId: userIdSchema }),
  doc: {
    tag: 'Turn engine',
    summary: 'Move a user from the turn order to bypass',
    who: "the channel's creator, guild owner/admin, guild token, or a channel member moving itself",
    success: { 200: '{turn}' },
    errors: { 400: ['bad_request', 'wrong_channel_type'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view, body }) => {
    if (!mayMoveTurnUser(view, principal, body.userId)) throw denied();
    const channel = requireTurnChannel(view.channel);
    return { turn: await moveTurnUser(ctx, channel, turnActorOf(principal), body.userId, 'bypass') };
  },
});
