// Hosts ONE built handler bundle alone, under plain node or bun (no tsx, no router, no adapter):
//   node test/helpers/host-handler.mjs <bundle.js> '<JSON list of requests>' [exit|waitUntil|settled]
// Each request is {method, url, headers?, body?}; the bundle's default export answers it.
// Prints one JSON line: {responses: [{status, contentType, headers, body}], waitedAt}, in order.
// Configuration comes only from the environment, as it would on any host. Then the process
// exits at once, as a function host freezes its instance after the response; with `waitUntil`
// it first awaits what the bundle handed to the execution context's waitUntil, with `settled`
// the bundle's `settled()` export (docs/edge-hosting.md).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [bundle, requestsJson, mode = 'exit'] = process.argv.slice(2);
const hosted = await import(pathToFileURL(resolve(bundle)).href);
const handler = hosted.default;
if (typeof handler !== 'function') throw new Error(`${bundle} has no default export to call`);
if (typeof hosted.settled !== 'function') throw new Error(`${bundle} has no settled export`);
const background = [];
const executionContext = { waitUntil: (promise) => background.push(promise) };
const responses = [];
for (const r of JSON.parse(requestsJson)) {
  const response = await handler(new Request(r.url, { method: r.method, headers: r.headers, body: r.body }), executionContext);
  if (!(response instanceof Response)) throw new Error(`${bundle} did not answer with a Response`);
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  responses.push({ status: response.status, contentType, headers: Object.fromEntries(response.headers), body: contentType.includes('json') && text ? JSON.parse(text) : text });
}
if (mode === 'waitUntil') await Promise.all(background);
if (mode === 'settled') await hosted.settled();
process.stdout.write(JSON.stringify({ responses, waitedAt: Date.now(), handedToWaitUntil: background.length }) + '\n');
// The handler's context (database pool) stays open for the next request; this host is done.
process.exit(0);
