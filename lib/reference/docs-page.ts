import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/**
 * The API reference page (GET /api/docs): Swagger UI from the swagger-ui-dist package,
 * served by the node itself (no CDN: a node may be offline), reading GET /api/openapi.json.
 * Every URL is relative, so the page works behind a proxy that mounts the node elsewhere.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fabric guild node — API reference</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
<div id="reference"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

/** Starts the viewer on the document; no validator badge (it would call out to the internet). */
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: 'openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  docExpansion: 'list',
  validatorUrl: null,
  tryItOutEnabled: false,
});
`;

/** The files the page loads, by the name it asks for: the viewer's own from its package, and the start script. */
const ASSETS: Record<string, { type: string; file?: string; text?: string }> = {
  'swagger-ui.css': { type: 'text/css; charset=utf-8', file: 'swagger-ui.css' },
  'swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', file: 'swagger-ui-bundle.js' },
  'favicon-32x32.png': { type: 'image/png', file: 'favicon-32x32.png' },
  'init.js': { type: 'text/javascript; charset=utf-8', text: INIT_SCRIPT },
};

let viewerDir: string | undefined;
const loaded = new Map<string, Buffer>();

/** An asset of the page, or undefined for a name it does not load. Read once, then kept in memory. */
export function docsAsset(name: string): { type: string; body: Buffer } | undefined {
  const asset = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) return undefined;
  let body = loaded.get(name);
  if (!body) {
    if (asset.text !== undefined) body = Buffer.from(asset.text);
    else {
      viewerDir ??= path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
      body = fs.readFileSync(path.join(viewerDir, asset.file!));
    }
    loaded.set(name, body);
  }
  return { type: asset.type, body };
}
