/**
 * DELETE /api/files/:fileId — removes the file's bytes and row now; attachments pointing at
 * it then report `expired: true`. Who: the uploader only. 204.
 * Errors: 401, 404 (no such unexpired file of the caller's — anyone else gets 404 too).
 */
import { notFound } from '../../lib/errors.js';
import { deleteOwnFile } from '../../lib/files/files.js';
import { anyCaller } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';

export default defineHandler({
  method: 'DELETE',
  path: '/api/files/:fileId',
  // Only its uploader: for anyone else the file does not exist (404), so the rule is the delete's own.
  access: anyCaller,
  doc: {
    tag: 'Files',
    summary: 'Delete an uploaded file now',
    who: 'the uploader only',
    success: { 204: 'no content' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, params }) => {
    const deleted = principal.kind === 'user' && (await deleteOwnFile(ctx, principal.userId, params.fileId));
    if (!deleted) throw notFound('file');
    return noContent();
  },
});
