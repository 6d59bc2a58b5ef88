/**
 * GET /api/docs — the API reference page (Swagger UI over /api/openapi.json, served by the node). No auth. 200 text/html.
 */
import { defineHandler } from '../../lib/http/handler.js';
import { response } from '../../lib/http/respond.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { DOCS_PAGE } from '../../lib/reference/docs-page.js';

const doc: RouteDoc = {
  tag: 'Reference',
  summary: 'The API reference page',
  who: 'anyone (no token)',
  success: { 200: 'an HTML page' },
  errors: {},
};

export default defineHandler({ method: 'GET', path: '/api/docs', auth: false, doc }, async () =>
  response(DOCS_PAGE, { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' } }),
);
