/**
 * GET /api/files/:fileId — the bytes (Bearer or ?access_token=). Who: the uploader, and
 * readers of any channel with a non-deleted message attaching the file. 200, 206 for a
 * satisfiable single Range, 304 when If-None-Match matches.
 * Errors: 401, 404 (no such file, expired, deleted, or not visible to the caller), 416.
 */
import { requireDownloadableFile } from '../../lib/files/download-access.js';
import { serveFile } from '../../lib/files/serve-file.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Files',
  summary: 'Download a file (Bearer or ?access_token=)',
  who: 'the uploader, and readers of any channel with a non-deleted message attaching the file',
  success: { 200: 'the bytes', 206: 'the requested range', 304: 'not modified (If-None-Match matched)' },
  errors: { 401: ['unauthorized'], 404: ['not_found'], 416: ['bad_request'] },
};

export default defineHandler({ method: 'GET', path: '/api/files/:fileId', queryToken: true, doc }, async ({ request, ctx, principal, params }) => {
  const file = await requireDownloadableFile(ctx.database.db, principal, params.fileId, Date.now());
  return serveFile(request, file, ctx.config.fileDir);
});
