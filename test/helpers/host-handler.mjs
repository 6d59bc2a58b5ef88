// Hosts ONE built handler bundle alone, under plain node (no tsx, no router, no adapter):
//   node test/helpers/host-handler.mjs <bundle.js> '<JSON list of requests>'
// Each request is {method, url, headers?, body?}; the bundle's default export answers it.
// Prints one JSON line: [{status, contentType, body}], in order. Configuration comes only
// from the environment, as it would on any host.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [bundle, requestsJson] = process.argv.slice(2);
const { default: handler } = await import(pathToFileURL(resolve(bundle)).href);
if (typeof handler !== 'function') throw new Error(`${bundle} has no default export to call`);
const results = [];
for (const r of JSON.parse(requestsJson)) {
  const response = await handler(new Request(r.url, { method: r.method, headers: r.headers, body: r.body }));
  if (!(response instanceof Response)) throw new Error(`${bundle} did not answer with a Response`);
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  results.push({ status: response.status, contentType, body: contentType.includes('json') && text ? JSON.parse(text) : text });
}
process.stdout.write(JSON.stringify(results) + '\n');
// The handler's context (database pool) stays open for the next request; this host is done.
process.exit(0);
