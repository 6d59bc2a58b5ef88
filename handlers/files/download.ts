/**
 * GET /api/files/:fileId — the bytes (Bearer or ?access_token=). Who: the uploader, and
 * readers of any channel with a non-deleted message attaching the file. 200, 206 for a
 * satisfiable single Range, 304 when If-None-Match matches.
 * Errors: 401, 404 (no such file, expired, deleted, or not visible to the caller), 416.
 */
import { fileReader } from '../../lib/files/file-access-policy.js';
import { serveFile } from '../../lib/files/serve-file.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/files/:fileId',
  access: fileReader,
  queryToken: true,
  doc: {
    tag: 'Files',
    summary: 'Download a file (Bearer or ?access_token=)',
    success: { 200: 'the bytes', 206: 'the requested range', 304: 'not modified (If-None-Match matched)' },
    errors: { 401: ['unauthorized'], 404: ['not_found'], 416: ['bad_request'] },
  },
  run: async ({ request, ctx, access: file }) => serveFile(request, file, ctx.config.fileDir),
});
