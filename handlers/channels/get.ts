/**
 * GET /api/channels/:channelId — one channel. Who: its readers (api.md "Who sees what"). 200 {channel}. Errors: 401, 404.
 */
import { loadChannel } from '../../lib/channels/channels.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'One channel',
  who: 'its readers (api',
  success: { 200: '{channel}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId', doc }, async ({ ctx, principal, params }) => {
  await requireReadableChannel(ctx.database.db, principal, params.channelId);
  return { channel: await loadChannel(ctx.database.db, params.channelId) };
});
