/**
 * HEAD /api/files/:fileId — the headers of GET /api/files/:fileId without the bytes.
 * Who, statuses and errors: as GET (200, 206, 304; 401, 404, 416).
 */
import { fileReader } from '../../lib/files/file-access-policy.js';
import { serveFile } from '../../lib/files/serve-file.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'HEAD',
  path: '/api/files/:fileId',
  access: fileReader,
  queryToken: true,
  doc: {
    tag: 'Files',
    summary: 'The headers of a file download, without the bytes',
    success: { 200: 'the headers of the file', 206: 'the headers of the requested range', 304: 'not modified (If-None-Match matched)' },
    errors: { 401: ['unauthorized'], 404: ['not_found'], 416: ['bad_request'] },
  },
  run: async ({ request, ctx, access: file }) => serveFile(request, file, ctx.config.fileDir),
});
