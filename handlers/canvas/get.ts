/**
 * GET /api/channels/:channelId/canvas — the channel's canvas. Who: readers of the channel.
 * 200 {canvas}. Errors: 401, 404 (channel not visible, or no canvas shared).
 */
import { requireCanvas } from '../../lib/canvas/canvas.js';
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId/canvas',
  access: channelReader,
  doc: {
    tag: 'Canvas',
    summary: "The channel's canvas",
    success: { 200: '{canvas}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, params }) => ({ canvas: await requireCanvas(ctx.database.db, params.channelId) }),
});
