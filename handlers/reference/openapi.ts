/**
 * GET /api/openapi.json — the OpenAPI 3.1 document of this API (lib/openapi.ts). No auth. 200 {openapi, info, paths, …}.
 */
import { open } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';
import { buildOpenApi } from '../../lib/openapi.js';
import { VERSION } from '../../lib/version.js';

let built: string | undefined;

export default defineHandler({
  method: 'GET',
  path: '/api/openapi.json',
  access: open,
  doc: {
    tag: 'Reference',
    summary: 'The OpenAPI 3.1 document of this API',
    success: { 200: '{openapi, info, paths, components}' },
    errors: {},
  },
  run: async () => {
    // The route table imports this handler: read it when first asked, not at load time.
    built ??= JSON.stringify(buildOpenApi((await import('../routes.js')).routes, { version: VERSION }));
    return json(JSON.parse(built));
  },
});
