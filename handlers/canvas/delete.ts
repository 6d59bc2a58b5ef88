/**
 * DELETE /api/channels/:channelId/canvas — removes the channel's canvas. Who: its sharer
 * only (a guild token or anyone else gets 403). 204; emits canvas.removed {channelId}.
 * Errors: 401, 403, 404 (channel not visible, or no canvas), 409 channel_closed.
 */
import { findCanvas, removeCanvas, requireCanvasWrite } from '../../lib/canvas/canvas.js';
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { notFound } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';

export default defineHandler({
  method: 'DELETE',
  path: '/api/channels/:channelId/canvas',
  access: channelReader,
  doc: {
    tag: 'Canvas',
    summary: "Remove the channel's canvas",
    who: 'its sharer only (a guild token or anyone else gets 403)',
    success: { 204: 'no content' },
    errors: { 403: ['forbidden'], 401: ['unauthorized'], 404: ['not_found'], 409: ['channel_closed'] },
  },
  run: async ({ ctx, principal, access: view }) => {
    const current = await findCanvas(ctx.database.db, view.channel.id);
    if (!current) throw notFound('canvas');
    const userId = principal.kind === 'user' ? principal.userId : null;
    requireCanvasWrite('delete', view, userId, current, !!view.channel.closed);
    await removeCanvas(ctx, view, userId);
    return noContent();
  },
});
