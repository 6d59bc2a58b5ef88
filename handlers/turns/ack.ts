/**
 * POST /api/channels/:channelId/turn/ack — {turn}: the guild acknowledgement. Starts a new round
 * when idle or paused (non-empty order); a no-op while active. turn.updated (reason `ack`) when
 * the state changed. Who: guild owner/admin, guild token — not the channel's creator as such.
 * A body, if any, is ignored. Errors: 400 wrong_channel_type, 401, 403, 404.
 */
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import { ackTurn, requireTurnChannel, turnActorOf } from '../../lib/turns/turn-commands.js';

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/turn/ack' }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.isGuildAdmin) throw forbidden('only a guild owner/admin or the guild token may acknowledge');
  const channel = requireTurnChannel(view.channel);
  return { turn: await ackTurn(ctx, channel, turnActorOf(principal)) };
});
