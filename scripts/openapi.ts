/**
 * Writes the OpenAPI 3.1 document of the REST API to docs/openapi.json (run by `npm run build`),
 * the same document a node serves at GET /api/openapi.json.
 */
import fs from 'node:fs';
import { routes } from '../handlers/routes.js';
import { buildOpenApi } from '../lib/openapi.js';
import { VERSION } from '../lib/version.js';
import { runCli } from './run-entry.js';

const OPENAPI_FILE = 'docs/openapi.json';

runCli('openapi', `Usage: npm run openapi\n\nWrites the OpenAPI 3.1 document of the REST API to ${OPENAPI_FILE}.`, async () => {
  const doc = buildOpenApi(routes, { version: VERSION });
  fs.mkdirSync('docs', { recursive: true });
  fs.writeFileSync(OPENAPI_FILE, JSON.stringify(doc, null, 2) + '\n');
  console.log(`wrote ${OPENAPI_FILE} (${Object.keys(doc.paths as object).length} paths)`);
  return 0;
});
