/**
 * POST /api/channels/:channelId/turn/ack — 200 {turn}: the guild acknowledgement. Starts a new round
 * when idle or paused (non-empty order); a no-op while active. turn.updated (reason `ack`) when
 * the state changed. Who: guild owner/admin, guild token — not the channel's creator as such.
 * A body, if any, is ignored. Errors: 400 wrong_channel_type, 401, 403, 404.
 */
import { channelGuildAdmin } from '../../lib/channels/channel-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';
import { ackTurn, requireTurnChannel, turnActorOf } from '../../lib/turns/turn-commands.js';

export default defineHandler({
  method: 'POST',
  path: '/api/channels/:channelId/turn/ack',
  access: channelGuildAdmin,
  doc: {
    tag: 'Turn engine',
    summary: 'Acknowledge the turn (guild acknowledgement)',
    success: { 200: '{turn}' },
    errors: { 400: ['wrong_channel_type'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view }) => ({ turn: await ackTurn(ctx, requireTurnChannel(view.channel), turnActorOf(principal)) }),
});
