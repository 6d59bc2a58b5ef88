/**
 * GET /api/channels/:channelId/canvas — the channel's canvas. Who: readers of the channel.
 * 200 {canvas}. Errors: 401, 404 (channel not visible, or no canvas shared).
 */
import { requireCanvas } from '../../lib/canvas/canvas.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Canvas',
  summary: "The channel's canvas",
  who: 'readers of the channel',
  success: { 200: '{canvas}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/canvas', doc }, async ({ ctx, principal, params }) => {
  await requireReadableChannel(ctx.database.db, principal, params.channelId);
  return { canvas: await requireCanvas(ctx.database.db, params.channelId) };
});
