/**
 * POST /api/channels/:channelId/turn/ack — 200 {turn}: the guild acknowledgement. Starts a new round
 * when idle or paused (non-empty order); a no-op while active. turn.updated (reason `ack`) when
 * the state changed. Who: guild owner/admin, guild token — not the channel's creator as such.
 * A body, if any, is ignored. Errors: 400 wrong_channel_type, 401, 403, 404.
 */
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { ackTurn, requireTurnChannel, turnActorOf } from '../../lib/turns/turn-commands.js';

const doc: RouteDoc = {
  tag: 'Turn engine',
  summary: 'Acknowledge the turn (guild acknowledgement)',
  who: "guild owner/admin, guild token — not the channel's creator as such",
  success: { 200: '{turn}' },
  errors: { 400: ['wrong_channel_type'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/turn/ack', doc }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.isGuildAdmin) throw forbidden('only a guild owner/admin or the guild token may acknowledge');
  const channel = requireTurnChannel(view.channel);
  return { turn: await ackTurn(ctx, channel, turnActorOf(principal)) };
});
