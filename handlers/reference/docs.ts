/**
 * GET /api/docs — the API reference page (Swagger UI over /api/openapi.json, served by the node). No auth. 200 text/html.
 */
import { open } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { response } from '../../lib/http/respond.js';
import { DOCS_PAGE } from '../../lib/reference/docs-page.js';

export default defineHandler({
  method: 'GET',
  path: '/api/docs',
  access: open,
  doc: {
    tag: 'Reference',
    summary: 'The API reference page',
    success: { 200: 'an HTML page' },
    errors: {},
  },
  run: async () => response(DOCS_PAGE, { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } }),
});
