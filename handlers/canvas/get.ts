/**
 * GET /api/channels/:channelId/canvas — the channel's canvas. Who: readers of the channel.
 * 200 {canvas}. Errors: 401, 404 (channel not visible, or no canvas shared).
 */
import { requireCanvas } from '../../lib/canvas/canvas.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/canvas' }, async ({ ctx, principal, params }) => {
  await requireReadableChannel(ctx.database.db, principal, params.channelId);
  return { canvas: await requireCanvas(ctx.database.db, params.channelId) };
});
