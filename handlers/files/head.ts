/**
 * HEAD /api/files/:fileId — the headers of GET /api/files/:fileId without the bytes.
 * Who, statuses and errors: as GET (200, 206, 304; 401, 404, 416).
 */
import { requireDownloadableFile } from '../../lib/files/download-access.js';
import { serveFile } from '../../lib/files/serve-file.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Files',
  summary: 'The headers of a file download, without the bytes',
  who: 'as GET /api/files/:fileId',
  success: { 200: 'the headers of the file', 206: 'the headers of the requested range', 304: 'not modified (If-None-Match matched)' },
  errors: { 401: ['unauthorized'], 404: ['not_found'], 416: ['bad_request'] },
};

export default defineHandler({ method: 'HEAD', path: '/api/files/:fileId', queryToken: true, doc }, async ({ request, ctx, principal, params }) => {
  const file = await requireDownloadableFile(ctx.database.db, principal, params.fileId, Date.now());
  return serveFile(request, file, ctx.config.fileDir);
});
