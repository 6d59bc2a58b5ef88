/**
 * POST /api/files — multipart/form-data with exactly one file part named `file`; streamed to
 * disk, kept FILE_TTL_DAYS. Who: users (a guild token gets 403: only a user can attach an
 * upload to a message). 201 {file}.
 * Errors: 400 bad_request (not exactly one `file` part, malformed body), 401, 403,
 * 413 payload_too_large (file over FILE_MAX_BYTES; nothing is left on disk), 415 (not multipart).
 */
import { storeUpload } from '../../lib/files/files.js';
import { requireUser } from '../../lib/http/auth.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { json } from '../../lib/http/respond.js';

const doc: RouteDoc = {
  tag: 'Files',
  summary: 'Upload a file (multipart/form-data, one part named `file`)',
  who: 'users (a guild token gets 403: only a user can attach an upload to a message)',
  rawBody: { contentType: 'multipart/form-data', description: 'exactly one file part named `file`' },
  success: { 201: '{file}' },
  errors: { 403: ['forbidden'], 400: ['bad_request'], 401: ['unauthorized'], 413: ['payload_too_large'], 415: ['unsupported_media_type'] },
};

export default defineHandler({ method: 'POST', path: '/api/files', doc }, async ({ request, ctx, principal }) => {
  const user = requireUser(principal, 'uploading a file');
  return json({ file: await storeUpload(ctx, user.userId, request) }, 201);
});
