/**
 * PUT /api/channels/:channelId/canvas — {format: md|html|text, content (≤ CANVAS_MAX_BYTES
 * UTF-8 bytes), title? (≤ 200 characters, "" when absent)} shares the channel's canvas (201,
 * version 1) or replaces it (200, version + 1). Who: channel members (users); once shared,
 * only its sharer. Emits canvas.updated {channelId, canvas}.
 * Errors: 400 bad_request, 401, 403 (guild token, not a member, not the sharer), 404,
 * 409 channel_closed, 413 payload_too_large, 415.
 */
import { z } from 'zod';
import { CANVAS_FORMATS, CANVAS_TITLE_MAX, canvasBodyLimit, utf8Bytes } from '../../lib/canvas/canvas-rules.js';
import { findCanvas, putCanvas, requireCanvasWrite } from '../../lib/canvas/canvas.js';
import { channelReaderUser } from '../../lib/channels/channel-access-policies.js';
import { HttpError } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';
import { isWellFormedText, WELL_FORMED_MESSAGE } from '../../lib/unicode.js';
import { chars, storedText } from '../../lib/validation.js';

export default defineHandler({
  method: 'PUT',
  path: '/api/channels/:channelId/canvas',
  access: channelReaderUser,
  // Members only; once shared, its sharer only; an open channel (403/409 before the body's 400/413/415).
  guard: async ({ ctx, principal, access: view }) => {
    requireCanvasWrite('put', view, principal.userId, await findCanvas(ctx.database.db, view.channel.id), !!view.channel.closed);
  },
  body: z.object({
    format: z.enum(CANVAS_FORMATS),
    content: z.string().refine(isWellFormedText, WELL_FORMED_MESSAGE),
    title: storedText().check(chars(0, CANVAS_TITLE_MAX)).default(''),
  }),
  bodyLimit: (ctx) => canvasBodyLimit(ctx.config.canvasMaxBytes),
  doc: {
    tag: 'Canvas',
    summary: "Share or replace the channel's canvas",
    who: 'channel members (users); once shared, only its sharer',
    success: { 201: '{canvas}: shared (version 1)', 200: '{canvas}: replaced (version + 1)' },
    errors: {
      400: ['bad_request'],
      401: ['unauthorized'],
      403: ['forbidden'],
      404: ['not_found'],
      409: ['channel_closed'],
      413: ['payload_too_large'],
      415: ['unsupported_media_type'],
    },
  },
  run: async ({ ctx, principal, access: view, body }) => {
    const max = ctx.config.canvasMaxBytes;
    if (utf8Bytes(body.content) > max) throw new HttpError(413, 'payload_too_large', `the canvas content is larger than ${max} bytes`);
    const { canvas, created } = await putCanvas(ctx, principal, view, body);
    return json({ canvas }, created ? 201 : 200);
  },
});
