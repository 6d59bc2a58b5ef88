/**
 * PUT /api/channels/:channelId/canvas — {format: md|html|text, content (≤ CANVAS_MAX_BYTES
 * UTF-8 bytes), title? (≤ 200 characters, "" when absent)} shares the channel's canvas (201,
 * version 1) or replaces it (200, version + 1). Who: channel members (users); once shared,
 * only its sharer. Emits canvas.updated {channelId, canvas}.
 * Errors: 400 bad_request, 401, 403 (guild token, not a member, not the sharer), 404,
 * 409 channel_closed, 413 payload_too_large, 415.
 */
import { z } from 'zod';
import { findCanvas, putCanvas, requireCanvasWrite } from '../../lib/canvas/canvas.js';
import { CANVAS_FORMATS, CANVAS_TITLE_MAX, canvasBodyLimit, utf8Bytes } from '../../lib/canvas/canvas-rules.js';
import { HttpError } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { requireUser } from '../../lib/http/auth.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { isWellFormedText, WELL_FORMED_MESSAGE } from '../../lib/unicode.js';
import { json } from '../../lib/http/respond.js';
import { chars, storedText } from '../../lib/validation.js';

const body = z.object({
  format: z.enum(CANVAS_FORMATS),
  content: z.string().refine(isWellFormedText, WELL_FORMED_MESSAGE),
  title: storedText().check(chars(0, CANVAS_TITLE_MAX)).default(''),
});

const doc: RouteDoc = {
  tag: 'Canvas',
  summary: "Share or replace the channel's canvas",
  who: 'channel members (users); once shared, only its sharer',
  body,
  success: { 201: '{canvas}: shared (version 1)', 200: '{canvas}: replaced (version + 1)' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['channel_closed'], 413: ['payload_too_large'], 415: ['unsupported_media_type'] },
};

export default defineHandler({ method: 'PUT', path: '/api/channels/:channelId/canvas', doc }, async ({ request, ctx, principal, params }) => {
  const { db } = ctx.database;
  const view = await requireReadableChannel(db, principal, params.channelId);
  const user = requireUser(principal, 'sharing a canvas');
  requireCanvasWrite('put', view, user.userId, await findCanvas(db, view.channel.id), !!view.channel.closed);
  const max = ctx.config.canvasMaxBytes;
  const input = await readJson(request, body, canvasBodyLimit(max));
  if (utf8Bytes(input.content) > max) throw new HttpError(413, 'payload_too_large', `the canvas content is larger than ${max} bytes`);
  const { canvas, created } = await putCanvas(ctx, view, user.userId, input);
  return json({ canvas }, created ? 201 : 200);
});
