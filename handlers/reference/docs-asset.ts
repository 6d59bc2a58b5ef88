/**
 * GET /api/docs/:asset — a file of the reference page (the viewer's script and style sheet). No auth.
 * 200 the file. Errors: 404 (a name the page does not load).
 */
import { notFound } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';
import { response } from '../../lib/http/respond.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { docsAsset } from '../../lib/reference/docs-page.js';

const doc: RouteDoc = {
  tag: 'Reference',
  summary: 'A file of the reference page',
  who: 'anyone (no token)',
  success: { 200: 'the file' },
  errors: { 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/docs/:asset', auth: false, doc }, async ({ params }) => {
  const asset = docsAsset(params.asset);
  if (!asset) throw notFound('asset');
  return response(new Uint8Array(asset.body), { status: 200, headers: { 'content-type': asset.type, 'cache-control': 'public, max-age=3600' } });
});
