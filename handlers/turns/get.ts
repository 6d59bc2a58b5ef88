/**
 * GET /api/channels/:channelId/turn — 200 {turn}: the turn state of a discuss/work channel.
 * Who: readers of the channel (api.md "Who sees what").
 * Errors: 400 wrong_channel_type, 401, 404.
 */
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { getTurn, requireTurnChannel } from '../../lib/turns/turn-commands.js';

const doc: RouteDoc = {
  tag: 'Turn engine',
  summary: 'The turn state of a discuss/work channel',
  who: 'readers of the channel (api',
  success: { 200: '{turn}' },
  errors: { 400: ['wrong_channel_type'], 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/turn', doc }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const channel = requireTurnChannel(view.channel);
  return { turn: await getTurn(ctx.database.db, channel) };
});
