/**
 * GET /api/channels/:channelId — one channel. Who: its readers (api.md "Who sees what"). 200 {channel}. Errors: 401, 404.
 */
import { loadChannel } from '../../lib/channels/channels.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId' }, async ({ ctx, principal, params }) => {
  await requireReadableChannel(ctx.database.db, principal, params.channelId);
  return { channel: await loadChannel(ctx.database.db, params.channelId) };
});
