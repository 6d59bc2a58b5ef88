/**
 * GET /api/channels/:channelId/turn — {turn}: the turn state of a discuss/work channel.
 * Who: readers of the channel (api.md "Who sees what"). 200.
 * Errors: 400 wrong_channel_type, 401, 404.
 */
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import { getTurn, requireTurnChannel } from '../../lib/turns/turn-commands.js';

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/turn' }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const channel = requireTurnChannel(view.channel);
  return { turn: await getTurn(ctx.database.db, channel) };
});
