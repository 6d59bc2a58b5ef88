// Serves EVERY built handler bundle of dist/handlers from one process, the way a function
// host maps one file to one URL: the request header `x-fabric-bundle: handlers/x/y.js` names
// the bundle that answers it (no router of ours involved). Under Bun through Bun.serve, under
// Node through node:http (with the plain conversion any Node host does).
//   node|bun test/helpers/serve-bundles.mjs <dist dir>
// Prints `listening <port>` once it accepts requests.
import fs from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

const dist = path.resolve(process.argv[2]);
const bundles = new Map();
for (const file of fs.readdirSync(path.join(dist, 'handlers'), { recursive: true, encoding: 'utf8' })) {
  if (!file.endsWith('.js')) continue;
  const name = `handlers/${file.split(path.sep).join('/')}`;
  bundles.set(name, (await import(pathToFileURL(path.join(dist, name)).href)).default);
}

async function answer(request, executionContext) {
  const bundle = bundles.get(request.headers.get('x-fabric-bundle') ?? '');
  if (!bundle) return new Response('no such bundle', { status: 599 });
  return bundle(request, executionContext);
}

/* global Bun -- defined when this runs under Bun */
if (typeof Bun !== 'undefined') {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: (request, srv) => answer(request, srv) });
  console.log(`listening ${server.port}`);
} else {
  const server = createServer(async (req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : v === undefined ? [] : [[k, v]])),
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: 'half',
    });
    const response = await answer(request);
    res.writeHead(response.status, [...response.headers]);
    if (response.body && req.method !== 'HEAD') for await (const chunk of response.body) res.write(chunk);
    res.end();
  });
  server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
}
