/**
 * GET /api/channels/:channelId/turn — 200 {turn}: the turn state of a discuss/work channel.
 * Who: readers of the channel (api.md "Who sees what").
 * Errors: 400 wrong_channel_type, 401, 404.
 */
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';
import { getTurn, requireTurnChannel } from '../../lib/turns/turn-commands.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId/turn',
  access: channelReader,
  doc: {
    tag: 'Turn engine',
    summary: 'The turn state of a discuss/work channel',
    success: { 200: '{turn}' },
    errors: { 400: ['wrong_channel_type'], 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, access: view }) => ({ turn: await getTurn(ctx.database.db, requireTurnChannel(view.channel)) }),
});
