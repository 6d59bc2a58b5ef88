/**
 * HEAD /api/files/:fileId — the headers of GET /api/files/:fileId without the bytes.
 * Who, statuses and errors: as GET.
 */
import { requireDownloadableFile } from '../../lib/files/download-access.js';
import { serveFile } from '../../lib/files/serve-file.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'HEAD', path: '/api/files/:fileId', queryToken: true }, async ({ request, ctx, principal, params }) => {
  const file = await requireDownloadableFile(ctx.database.db, principal, params.fileId, Date.now());
  return serveFile(request, file, ctx.config.fileDir);
});
