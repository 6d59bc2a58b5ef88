/**
 * GET /api/openapi.json — the OpenAPI 3.1 document of this API (lib/openapi.ts). No auth. 200 {openapi, info, paths, …}.
 */
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { buildOpenApi } from '../../lib/openapi.js';
import { VERSION } from '../../lib/version.js';

const doc: RouteDoc = {
  tag: 'Reference',
  summary: 'The OpenAPI 3.1 document of this API',
  who: 'anyone (no token)',
  success: { 200: '{openapi, info, paths, components}' },
  errors: {},
};

let built: string | undefined;

export default defineHandler({ method: 'GET', path: '/api/openapi.json', auth: false, doc }, async () => {
  // The route table imports this handler: read it when first asked, not at load time.
  built ??= JSON.stringify(buildOpenApi((await import('../routes.js')).routes, { version: VERSION }));
  return json(JSON.parse(built));
});
