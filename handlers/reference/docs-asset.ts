/**
 * GET /api/docs/:asset — a file of the reference page (the viewer's script and style sheet). No auth.
 * 200 the file. Errors: 404 (a name the page does not load).
 */
import { notFound } from '../../lib/errors.js';
import { open } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { response } from '../../lib/http/respond.js';
import { docsAsset } from '../../lib/reference/docs-page.js';

export default defineHandler({
  method: 'GET',
  path: '/api/docs/:asset',
  access: open,
  doc: {
    tag: 'Reference',
    summary: 'A file of the reference page',
    success: { 200: 'the file' },
    errors: { 404: ['not_found'] },
  },
  run: async ({ params }) => {
    const asset = docsAsset(params.asset);
    if (!asset) throw notFound('asset');
    return response(new Uint8Array(asset.body), { status: 200, headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' } });
  },
});
