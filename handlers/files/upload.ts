/**
 * POST /api/files — multipart/form-data with exactly one file part named `file`; streamed to
 * disk, kept FILE_TTL_DAYS. Who: users (a guild token gets 403: only a user can attach an
 * upload to a message). 201 {file}.
 * Errors: 400 bad_request (not exactly one `file` part, malformed body), 401, 403,
 * 413 payload_too_large (file over FILE_MAX_BYTES; nothing is left on disk), 415 (not multipart, or
 * sent with a Content-Encoding).
 */
import { storeUpload } from '../../lib/files/files.js';
import { userOnly } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';

export default defineHandler({
  method: 'POST',
  path: '/api/files',
  access: userOnly,
  doc: {
    tag: 'Files',
    summary: 'Upload a file (multipart/form-data, one part named `file`)',
    who: 'users (a guild token gets 403: only a user can attach an upload to a message)',
    rawBody: { contentType: 'multipart/form-data', description: 'exactly one file part named `file`' },
    success: { 201: '{file}' },
    errors: { 403: ['forbidden'], 400: ['bad_request'], 401: ['unauthorized'], 413: ['payload_too_large'], 415: ['unsupported_media_type'] },
  },
  run: async ({ request, ctx, principal }) => json({ file: await storeUpload(ctx, principal.userId, request) }, 201),
});
