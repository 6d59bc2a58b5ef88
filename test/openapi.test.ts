/**
 * The OpenAPI document (lib/openapi.ts): every route of handlers/routes.ts is in it with its
 * doc; the statuses it documents are exactly the ones each handler's header comment lists; and
 * through real HTTP against a running node, the statuses (and error codes) that samples of every
 * route get back are documented ones. Also: GET /api/openapi.json and /api/docs need no token,
 * and docs/openapi.json (written by `npm run build`) is the current document.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../handlers/routes.js';
import { buildOpenApi, openApiPath } from '../lib/openapi.js';
import { VERSION } from '../lib/version.js';
import { seedGuild, startTestNode, type TestNode } from './helpers/harness.js';

type Operation = { responses: Record<string, { 'x-error-codes'?: string[] }>; 'x-undocumented'?: boolean; parameters?: { name: string; in: string }[]; requestBody?: unknown };
const document = buildOpenApi(routes, { version: VERSION }) as { openapi: string; paths: Record<string, Record<string, Operation>> };
const operationOf = (method: string, routePath: string) => document.paths[openApiPath(routePath)]?.[method.toLowerCase()];
/** Statuses every operation may answer whatever its header says: a failure, and a database that does not answer. */
const COMMON = new Set(['500', '503']);

const HTTP_STATUSES = new Set(['200', '201', '202', '204', '206', '304', '400', '401', '403', '404', '409', '413', '415', '416', '429', '500', '503']);

/** handlers/**: the method, path and statuses of each file's header comment. */
function headerComments() {
  const out = new Map<string, Set<string>>();
  for (const file of fs.readdirSync('handlers', { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts') || file === 'routes.ts') continue;
    const text = fs.readFileSync(path.join('handlers', file), 'utf8');
    const comment = /^\/\*\*\n([\s\S]*?)\n \*\//.exec(text)?.[1] ?? '';
    const head = /\* (GET|POST|PUT|PATCH|DELETE|HEAD) (\S+)/.exec(comment);
    if (!head) throw new Error(`handlers/${file} does not start with its route`);
    const statuses = new Set([...comment.matchAll(/(?<![\d.\w])([2-5]\d\d)(?![\d\w])/g)].map((m) => m[1]).filter((s) => HTTP_STATUSES.has(s)));
    out.set(`${head[1]} ${head[2].split('?')[0]}`, statuses);
  }
  return out;
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route of handlers/routes.ts, each with its doc', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const h of routes) {
      const op = operationOf(h.route.method, h.route.path);
      expect(op, `${h.route.method} ${h.route.path}`).toBeDefined();
      expect(op!['x-undocumented'], `${h.route.method} ${h.route.path} has no doc`).toBeUndefined();
      for (const name of h.route.path.matchAll(/:(\w+)/g)) expect(op!.parameters?.some((p) => p.in === 'path' && p.name === name[1])).toBe(true);
    }
    const count = Object.values(document.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(count).toBe(routes.length);
  });

  it("documents exactly the statuses each handler's header comment lists", () => {
    const headers = headerComments();
    for (const h of routes) {
      const key = `${h.route.method} ${h.route.path}`;
      const listed = headers.get(key);
      expect(listed, `no handler file starts with ${key}`).toBeDefined();
      const op = operationOf(h.route.method, h.route.path)!;
      // A route that takes a body may also answer 413 and 415 (its bounds and content type), listed or not.
      const common = op.requestBody ? new Set([...COMMON, '413', '415']) : COMMON;
      const documented = Object.keys(op.responses).filter((s) => !common.has(s) || listed!.has(s));
      expect(new Set(documented), key).toEqual(new Set([...listed!].filter((s) => !common.has(s) || documented.includes(s))));
      if (op.requestBody) expect(Object.keys(op.responses), key).toEqual(expect.arrayContaining(['413', '415']));
    }
  });

  it('takes body and query schemas from the zod schemas the handlers validate with', () => {
    const post = operationOf('POST', '/api/guilds') as unknown as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown>; required: string[] } } } };
    };
    const schema = post.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(['name', 'description']);
    expect(schema.required).toEqual(['name']);
    const list = operationOf('GET', '/api/channels/:channelId/messages')!;
    expect(list.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['path:channelId', 'query:before', 'query:after', 'query:limit']);
  });

  it('is the one in docs/openapi.json (npm run build writes it; npm run openapi alone too)', () => {
    const written = JSON.parse(fs.readFileSync('docs/openapi.json', 'utf8'));
    expect(written, 'docs/openapi.json is stale: run npm run openapi').toEqual(JSON.parse(JSON.stringify(document)));
  });
});

describe('the API against its document, over HTTP', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode();
  });
  afterAll(async () => t?.close());

  /** Asserts that a response's status is documented for the route, and its error code among that status's codes. */
  async function expectDocumented(method: string, routePath: string, res: { status: number; body: any }) {
    const op = operationOf(method, routePath)!;
    const documented = op.responses[String(res.status)];
    expect(documented, `${method} ${routePath} answered an undocumented ${res.status}: ${JSON.stringify(res.body)}`).toBeDefined();
    if (res.status >= 400 && method !== 'HEAD') expect(documented['x-error-codes']).toContain(res.body.error.code);
  }

  const fill = (routePath: string, ids: Record<string, string>) => routePath.replace(/:(\w+)/g, (_, name: string) => ids[name] ?? 'no-such-id');

  it('answers every route without a token with a documented status (401 where a token is needed)', async () => {
    for (const h of routes) {
      const { method, path: routePath, auth } = h.route;
      const res = await t.api(method, fill(routePath, { asset: 'init.js' }));
      if (auth) expect(res.status, `${method} ${routePath}`).toBe(401);
      await expectDocumented(method, routePath, res);
    }
  });

  it('answers every route with a token, unknown ids and a malformed body with documented statuses', async () => {
    const { owner } = await seedGuild(t, 0);
    for (const h of routes) {
      const { method, path: routePath } = h.route;
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(method);
      const res = await t.api(method, fill(routePath, {}), { token: owner.token, ...(hasBody ? { rawBody: '{not json', headers: { 'content-type': 'application/json' } } : {}) });
      await expectDocumented(method, routePath, res);
    }
  });

  it('answers a walk through the main routes with documented statuses', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const steps: [string, string, Record<string, unknown> | undefined][] = [];
    const call = async (method: string, routePath: string, ids: Record<string, string>, body?: unknown) => {
      const res = await t.api(method, fill(routePath, ids), { token: owner.token, body });
      await expectDocumented(method, routePath, res);
      steps.push([method, routePath, undefined]);
      return res;
    };
    const channel = await call('POST', '/api/channels', {}, { guildId, name: 'walk', xType: 'discuss', memberIds: [members[0].id] });
    expect(channel.status).toBe(201);
    const channelId = channel.body.channel.id as string;
    const ids = { guildId, channelId, userId: members[0].id };
    const posted = await call('POST', '/api/channels/:channelId/messages', ids, { content: 'hello', clientMsgId: 'walk-1' });
    expect(posted.status).toBe(201);
    expect((await call('POST', '/api/channels/:channelId/messages', ids, { content: 'hello', clientMsgId: 'walk-1' })).status).toBe(200);
    const messageId = posted.body.message.id as string;
    for (const [m, p] of [
      ['GET', '/api/guilds'],
      ['GET', '/api/guilds/:guildId'],
      ['GET', '/api/guilds/:guildId/members'],
      ['GET', '/api/channels/:channelId'],
      ['GET', '/api/channels/:channelId/members'],
      ['GET', '/api/channels/:channelId/messages'],
      ['GET', '/api/channels/:channelId/turn'],
      ['GET', '/api/channels/:channelId/wake-mapping'],
      ['GET', '/api/channels/:channelId/canvas'],
      ['GET', '/api/commands'],
    ]) {
      await call(m, p, ids);
    }
    expect((await call('GET', `/api/messages/:messageId`, { messageId })).status).toBe(200);
    expect((await call('PATCH', '/api/messages/:messageId', { messageId }, { content: 'edited' })).status).toBe(200);
    expect((await call('PUT', '/api/channels/:channelId/canvas', ids, { format: 'md', content: '# hi' })).status).toBe(201);
    expect((await call('PUT', '/api/channels/:channelId/canvas', ids, { format: 'md', content: '# again' })).status).toBe(200);
    expect((await call('DELETE', '/api/messages/:messageId', { messageId })).status).toBe(204);
    expect((await call('DELETE', '/api/channels/:channelId/members/:userId', ids)).status).toBe(204);
    expect(steps.length).toBeGreaterThan(15);
  });

  it('answers a malformed body sent by the owner to the guild, channel, turn and message routes that take one with a documented status', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const channel = await t.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'bodies', xType: 'discuss', memberUserIds: [members[0].id] } });
    const posted = await t.api('POST', `/api/channels/${channel.body.channel.id}/messages`, { token: owner.token, body: { content: 'hi' } });
    const ids = { guildId, channelId: channel.body.channel.id, userId: members[0].id, messageId: posted.body.message.id };
    const bodied = routes.filter(
      (h) => ['POST', 'PUT', 'PATCH'].includes(h.route.method) && /^\/api\/(guilds|channels|messages)\b/.test(h.route.path) && !h.route.path.includes('/canvas'),
    );
    expect(bodied.length).toBeGreaterThan(15);
    for (const h of bodied) {
      const res = await t.api(h.route.method, fill(h.route.path, ids), { token: owner.token, rawBody: '{not json', headers: { 'content-type': 'application/json' } });
      await expectDocumented(h.route.method, h.route.path, res);
    }
  });

  it('serves the document and the docs page without a token', async () => {
    const served = await t.api('GET', '/api/openapi.json');
    expect(served.status).toBe(200);
    expect(served.body).toEqual(JSON.parse(JSON.stringify(document)));
    const page = await fetch(`${t.url}/api/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    for (const asset of html.matchAll(/(?:src|href)="(docs\/[^"]+)"/g)) {
      const res = await fetch(`${t.url}/api/${asset[1]}`);
      expect(res.status, asset[1]).toBe(200);
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
    expect((await t.api('GET', '/api/docs/..%2Fpackage.json')).status).toBe(404);
  });
});
