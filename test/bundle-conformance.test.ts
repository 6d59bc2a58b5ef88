/**
 * Every handler bundle of dist/handlers, hosted alone under Node (node:http) and under Bun
 * (Bun.serve), answers as the routed server: its own method and path with the same status,
 * body shape and CORS headers; another method on its path with the same 405 and `Allow`; a
 * path foreign to the API with the same 404 error JSON; a preflight with the same 204. Each
 * of the three targets gets its own guild, channels, message and file (created through the
 * routed server on one shared database), and the same table of requests runs against each,
 * in order (the destructive ones last). A destructive bundle called with GET changes nothing.
 * The table names every bundle: a new endpoint without a row fails the test.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { migrateToLatest, openDatabase } from '../lib/db/index.js';
import { startAllInOne } from '../scripts/processes.js';
import type { DevCenter } from '../scripts/dev-center.js';
import { handlerBundles } from './helpers/bundles.js';
import {
  apiClient,
  centerClient,
  cleanEnv,
  createTestDatabase,
  nodeEnv,
  REPO_ROOT,
  spawnNode,
  startCenter,
  waitFor,
  type ChildRun,
  type TestDatabase,
  type TestUser,
} from './helpers/harness.js';

const run = promisify(execFile);
const DIST = path.join(REPO_ROOT, 'dist');

interface World {
  owner: TestUser;
  member: TestUser;
  third: TestUser;
  guildId: string;
  channelId: string;
  discussId: string;
  triageId: string;
  messageId: string;
  fileId: string;
}

interface Row {
  bundle: string;
  method: string;
  path: (w: World) => string;
  as?: 'owner' | 'member' | 'third' | 'nobody';
  body?: (w: World) => unknown;
  form?: boolean;
}

const TABLE: Row[] = [
  { bundle: 'health', method: 'GET', path: () => '/api/health', as: 'nobody' },
  { bundle: 'ready', method: 'GET', path: () => '/api/ready', as: 'nobody' },
  { bundle: 'reference/openapi', method: 'GET', path: () => '/api/openapi.json', as: 'nobody' },
  { bundle: 'reference/docs', method: 'GET', path: () => '/api/docs', as: 'nobody' },
  { bundle: 'reference/docs-asset', method: 'GET', path: () => '/api/docs/init.js', as: 'nobody' },
  { bundle: 'guilds/create', method: 'POST', path: () => '/api/guilds', body: () => ({ name: 'Another' }) },
  { bundle: 'guilds/list', method: 'GET', path: () => '/api/guilds' },
  { bundle: 'guilds/get', method: 'GET', path: (w) => `/api/guilds/${w.guildId}` },
  { bundle: 'guilds/update', method: 'PATCH', path: (w) => `/api/guilds/${w.guildId}`, body: () => ({ description: 'updated' }) },
  { bundle: 'guilds/members-list', method: 'GET', path: (w) => `/api/guilds/${w.guildId}/members` },
  { bundle: 'guilds/members-add', method: 'POST', path: (w) => `/api/guilds/${w.guildId}/members`, body: (w) => ({ userIds: [w.third.id] }) },
  { bundle: 'guilds/members-update', method: 'PATCH', path: (w) => `/api/guilds/${w.guildId}/members/${w.member.id}`, body: () => ({ role: 'admin' }) },
  { bundle: 'channels/create', method: 'POST', path: () => '/api/channels', body: (w) => ({ guildId: w.guildId, name: 'new', xType: 'general', isPublic: true }) },
  { bundle: 'channels/list', method: 'GET', path: (w) => `/api/channels?guildId=${w.guildId}` },
  { bundle: 'channels/get', method: 'GET', path: (w) => `/api/channels/${w.channelId}` },
  { bundle: 'channels/update', method: 'PATCH', path: (w) => `/api/channels/${w.channelId}`, body: () => ({ topic: 'now' }) },
  { bundle: 'channels/members-list', method: 'GET', path: (w) => `/api/channels/${w.channelId}/members` },
  { bundle: 'channels/members-add', method: 'POST', path: (w) => `/api/channels/${w.channelId}/members`, body: (w) => ({ userIds: [w.third.id] }) },
  { bundle: 'channels/wake-mapping-get', method: 'GET', path: (w) => `/api/channels/${w.triageId}/wake-mapping` },
  { bundle: 'channels/loop-guard-reset', method: 'POST', path: (w) => `/api/channels/${w.channelId}/loop-guard/reset` },
  { bundle: 'channels/presence-get', method: 'GET', path: (w) => `/api/channels/${w.channelId}/presence` },
  { bundle: 'channels/read-put', method: 'PUT', path: (w) => `/api/channels/${w.channelId}/read`, body: () => ({ seq: 1 }) },
  { bundle: 'channels/wake-mapping-put', method: 'PUT', path: (w) => `/api/channels/${w.triageId}/wake-mapping`, body: (w) => ({ userIds: [w.member.id] }) },
  { bundle: 'messages/create', method: 'POST', path: (w) => `/api/channels/${w.channelId}/messages`, body: () => ({ content: 'hello' }) },
  { bundle: 'messages/list', method: 'GET', path: (w) => `/api/channels/${w.channelId}/messages` },
  { bundle: 'messages/get', method: 'GET', path: (w) => `/api/messages/${w.messageId}` },
  { bundle: 'messages/update', method: 'PATCH', path: (w) => `/api/messages/${w.messageId}`, body: () => ({ content: 'edited' }) },
  { bundle: 'canvas/put', method: 'PUT', path: (w) => `/api/channels/${w.channelId}/canvas`, body: () => ({ format: 'md', content: '# plan' }) },
  { bundle: 'canvas/get', method: 'GET', path: (w) => `/api/channels/${w.channelId}/canvas` },
  { bundle: 'commands/put', method: 'PUT', path: () => '/api/commands', body: () => ({ commands: [{ name: 'deploy', description: 'ship it' }] }) },
  { bundle: 'commands/list', method: 'GET', path: () => '/api/commands' },
  { bundle: 'turns/get', method: 'GET', path: (w) => `/api/channels/${w.discussId}/turn` },
  { bundle: 'turns/update', method: 'PUT', path: (w) => `/api/channels/${w.discussId}/turn`, body: (w) => ({ order: [], bypass: [w.member.id] }) },
  { bundle: 'turns/move-to-order', method: 'POST', path: (w) => `/api/channels/${w.discussId}/turn/order`, body: (w) => ({ userId: w.member.id }) },
  { bundle: 'turns/move-to-bypass', method: 'POST', path: (w) => `/api/channels/${w.discussId}/turn/bypass`, body: (w) => ({ userId: w.member.id }) },
  { bundle: 'turns/ack', method: 'POST', path: (w) => `/api/channels/${w.discussId}/turn/ack` },
  { bundle: 'files/upload', method: 'POST', path: () => '/api/files', form: true },
  { bundle: 'files/head', method: 'HEAD', path: (w) => `/api/files/${w.fileId}` },
  { bundle: 'files/download', method: 'GET', path: (w) => `/api/files/${w.fileId}` },
  { bundle: 'files/delete', method: 'DELETE', path: (w) => `/api/files/${w.fileId}` },
  { bundle: 'canvas/delete', method: 'DELETE', path: (w) => `/api/channels/${w.channelId}/canvas` },
  { bundle: 'messages/delete', method: 'DELETE', path: (w) => `/api/messages/${w.messageId}` },
  { bundle: 'channels/join', method: 'POST', path: (w) => `/api/channels/${w.channelId}/join`, as: 'third' },
  { bundle: 'channels/leave', method: 'POST', path: (w) => `/api/channels/${w.channelId}/leave`, as: 'member' },
  { bundle: 'channels/members-remove', method: 'DELETE', path: (w) => `/api/channels/${w.channelId}/members/${w.third.id}` },
  { bundle: 'guilds/members-remove', method: 'DELETE', path: (w) => `/api/guilds/${w.guildId}/members/${w.third.id}` },
];

/** The shape of a JSON value: key names and value types, arrays by their first element. */
function shape(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  }
  return typeof value;
}

/** The allowed origin of every target (CORS_ORIGINS), and one that is not. */
const ORIGIN = 'https://app.example';
const FOREIGN_ORIGIN = 'https://elsewhere.example';

/** The CORS headers of a response (and `Allow`), to compare target with target. */
function corsOf(res: Response): Record<string, string | null> {
  const names = ['access-control-allow-origin', 'access-control-allow-methods', 'access-control-allow-headers'];
  return Object.fromEntries([...names, 'access-control-expose-headers', 'access-control-max-age', 'vary', 'allow'].map((n) => [n, res.headers.get(n)]));
}

let center: DevCenter;
let db: TestDatabase;
let routed: Awaited<ReturnType<typeof startAllInOne>>;
const hosts: ChildRun[] = [];
const targets: { name: string; url: string; viaBundle: boolean }[] = [];

async function serveBundles(env: Record<string, string>, runtime: 'node' | 'bun') {
  const child = spawnNode('test/helpers/serve-bundles.mjs', env, { args: [DIST], runtime, tsx: false });
  hosts.push(child);
  const port = await waitFor(`${runtime} bundle host`, async () => /listening (\d+)/.exec(child.stdout())?.[1], 60_000);
  return `http://127.0.0.1:${port}`;
}

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: REPO_ROOT, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  center = await startCenter();
  db = await createTestDatabase();
  const env = nodeEnv(center, db, { FABRIC_BACKEND_GUILD_NODE_ID: 'conformance-node', FABRIC_BACKEND_GUILD_CORS_ORIGINS: ORIGIN });
  const handle = await openDatabase(loadConfig(env).db);
  await migrateToLatest(handle.db, () => undefined);
  await handle.destroy();
  routed = await startAllInOne(loadConfig(env), { heartbeat: false, jobs: false });
  const [nodeUrl, bunUrl] = await Promise.all([serveBundles(env, 'node'), serveBundles(env, 'bun')]);
  targets.push({ name: 'routed', url: routed.url, viaBundle: false }, { name: 'node', url: nodeUrl, viaBundle: true }, { name: 'bun', url: bunUrl, viaBundle: true });
}, 240_000);
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await routed?.close();
  await center?.close();
  await db?.drop();
});

/** A guild with three users, a general, a discuss and a triage channel, a message and a file: made through the routed server. */
async function makeWorld(): Promise<World> {
  const api = apiClient(routed.url);
  const users = centerClient(center);
  const [owner, member, third] = [await users.user('owner'), await users.user('member'), await users.user('third')];
  const ok = async (method: string, p: string, body: unknown, token = owner.token) => {
    const r = await api(method, p, { token, body });
    expect(r.status, `${method} ${p}: ${JSON.stringify(r.body)}`).toBeLessThan(300);
    return r.body;
  };
  const guildId = (await ok('POST', '/api/guilds', { name: 'Conformance' })).guild.id;
  await ok('POST', `/api/guilds/${guildId}/members`, { userIds: [member.id] });
  const channel = (type: string) => ok('POST', '/api/channels', { guildId, name: type, xType: type, isPublic: true, memberUserIds: [member.id] });
  const channelId = (await channel('general')).channel.id;
  const discussId = (await channel('discuss')).channel.id;
  const triageId = (await channel('triage')).channel.id;
  const messageId = (await ok('POST', `/api/channels/${channelId}/messages`, { content: 'first' })).message.id;
  const form = new FormData();
  form.append('file', new Blob(['file bytes'], { type: 'text/plain' }), 'a.txt');
  const file = await api('POST', '/api/files', { token: owner.token, rawBody: form });
  expect(file.status).toBe(201);
  return { owner, member, third, guildId, channelId, discussId, triageId, messageId, fileId: file.body.file.id };
}

type Target = (typeof targets)[number];

/** `row`'s bundle (or the routed server) asked `method path` as the owner, from `origin`; no body. */
async function ask(target: Target, row: Row, w: World, method: string, p: string, origin = ORIGIN, extra: Record<string, string> = {}) {
  const headers: Record<string, string> = { origin, authorization: `Bearer ${w.owner.token}`, ...extra };
  if (target.viaBundle) headers['x-fabric-bundle'] = `handlers/${row.bundle}.js`;
  const res = await fetch(target.url + p, { method, headers });
  const text = await res.text();
  const body = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
  return { status: res.status, code: body?.error?.code as string | undefined, shape: shape(body), cors: corsOf(res) };
}

/** Methods the routed API serves on `row`'s path: the table's rows with the same path template (every id the same). */
function servedOn(row: Row): Set<string> {
  const user = { id: 'id', token: '' } as TestUser;
  const ids: World = { owner: user, member: user, third: user, guildId: 'id', channelId: 'id', discussId: 'id', triageId: 'id', messageId: 'id', fileId: 'id' };
  const pathOf = (r: Row) => r.path(ids).split('?')[0];
  return new Set(TABLE.filter((r) => pathOf(r) === pathOf(row)).map((r) => r.method));
}

async function send(target: Target, row: Row, w: World) {
  const headers: Record<string, string> = { origin: ORIGIN };
  if (target.viaBundle) headers['x-fabric-bundle'] = `handlers/${row.bundle}.js`;
  const who = row.as ?? 'owner';
  if (who !== 'nobody') headers.authorization = `Bearer ${w[who].token}`;
  let body: BodyInit | undefined;
  if (row.form) {
    const form = new FormData();
    form.append('file', new Blob(['uploaded bytes'], { type: 'text/plain' }), 'b.txt');
    body = form;
  } else if (row.body) {
    body = JSON.stringify(row.body(w));
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(target.url + row.path(w), { method: row.method, headers, body });
  const text = await res.text();
  const json = (res.headers.get('content-type') ?? '').includes('json') && text ? JSON.parse(text) : text;
  return { status: res.status, shape: typeof json === 'string' ? `text of ${json.length}` : shape(json), cors: corsOf(res) };
}

describe('every handler bundle, hosted alone under Node and under Bun, answers as the routed server', () => {
  it('the table names every bundle of dist/handlers', () => {
    expect(TABLE.map((r) => `handlers/${r.bundle}.js`).sort()).toEqual(handlerBundles(DIST));
  });

  it('right method and path: the same status, body shape and CORS headers, row by row', async () => {
    const worlds = new Map<string, World>();
    for (const t of targets) worlds.set(t.name, await makeWorld());
    for (const row of TABLE) {
      const [routedAnswer, ...hosted] = await Promise.all(targets.map((t) => send(t, row, worlds.get(t.name)!)));
      expect(routedAnswer.status, `${row.method} ${row.bundle} (routed)`).toBeLessThan(300);
      expect(routedAnswer.cors['access-control-allow-origin']).toBe(ORIGIN);
      hosted.forEach((answer, i) => expect(answer, `${row.method} ${row.bundle} under ${targets[i + 1].name}`).toEqual(routedAnswer));
    }
  }, 120_000);

  it('another method on its path: 405 method_not_allowed with the routed Allow; a foreign path: 404 error JSON', async () => {
    const w = await makeWorld();
    for (const row of TABLE) {
      const own = row.path(w);
      const served = servedOn(row);
      const wrong = ['DELETE', 'PATCH', 'PUT', 'POST', 'GET'].find((m) => !served.has(m))!;
      const [routedWrong, ...hostedWrong] = await Promise.all(targets.map((t) => ask(t, row, w, wrong, own)));
      expect(routedWrong.status, `${wrong} ${own} (routed)`).toBe(405);
      expect(routedWrong.code).toBe('method_not_allowed');
      expect(routedWrong.cors.allow?.split(', ')).toEqual(expect.arrayContaining([...served, 'OPTIONS']));
      hostedWrong.forEach((a, i) => expect(a, `${wrong} to ${row.bundle} under ${targets[i + 1].name}`).toEqual(routedWrong));

      const foreign = `/api/nowhere/${row.bundle}`;
      const [routedForeign, ...hostedForeign] = await Promise.all(targets.map((t) => ask(t, row, w, row.method, foreign)));
      expect(routedForeign.status).toBe(404);
      if (row.method !== 'HEAD') expect(routedForeign.code).toBe('not_found');
      hostedForeign.forEach((a, i) => expect(a, `${row.method} ${foreign} to ${row.bundle} under ${targets[i + 1].name}`).toEqual(routedForeign));
    }
  }, 120_000);

  it('HEAD where it serves GET: the status and Content-Length of the GET, no body', async () => {
    const w = await makeWorld();
    for (const row of TABLE.filter((r) => r.method === 'GET')) {
      const answer = async (t: Target, method: string) => {
        const headers: Record<string, string> = { origin: ORIGIN, authorization: `Bearer ${w.owner.token}` };
        if (t.viaBundle) headers['x-fabric-bundle'] = `handlers/${row.bundle}.js`;
        const res = await fetch(t.url + row.path(w), { method, headers });
        return { status: res.status, length: res.headers.get('content-length'), body: await res.text() };
      };
      const get = await answer(targets[0], 'GET');
      const [routedHead, ...hosted] = await Promise.all(targets.map((t) => answer(t, 'HEAD')));
      expect(routedHead, `HEAD ${row.bundle} (routed)`).toEqual({ status: get.status, length: String(Buffer.byteLength(get.body)), body: '' });
      hosted.forEach((a, i) => expect(a, `HEAD to ${row.bundle} under ${targets[i + 1].name}`).toEqual(routedHead));
    }
  }, 60_000);

  it('a preflight: 204 with the same CORS headers, for an allowed origin and for another', async () => {
    const w = await makeWorld();
    for (const row of TABLE) {
      for (const origin of [ORIGIN, FOREIGN_ORIGIN]) {
        const preflight = { 'access-control-request-method': row.method, 'access-control-request-headers': 'authorization' };
        const [routedAnswer, ...hosted] = await Promise.all(targets.map((t) => ask(t, row, w, 'OPTIONS', row.path(w), origin, preflight)));
        expect(routedAnswer.status).toBe(204);
        expect(routedAnswer.cors['access-control-allow-origin']).toBe(origin === ORIGIN ? ORIGIN : null);
        hosted.forEach((a, i) => expect(a, `OPTIONS to ${row.bundle} from ${origin} under ${targets[i + 1].name}`).toEqual(routedAnswer));
      }
    }
  }, 120_000);

  it('a destructive bundle called with GET answers 405 and changes nothing', async () => {
    const api = apiClient(routed.url);
    const destructive = ['guilds/members-remove', 'channels/members-remove', 'messages/delete', 'canvas/delete', 'files/delete'];
    for (const target of targets.filter((t) => t.viaBundle)) {
      const w = await makeWorld();
      const as = { token: w.owner.token };
      expect((await api('POST', `/api/guilds/${w.guildId}/members`, { ...as, body: { userIds: [w.third.id] } })).status).toBe(200);
      expect((await api('POST', `/api/channels/${w.channelId}/members`, { ...as, body: { userIds: [w.third.id] } })).status).toBe(200);
      expect((await api('PUT', `/api/channels/${w.channelId}/canvas`, { ...as, body: { format: 'md', content: '# kept' } })).status).toBeLessThan(300);
      for (const bundle of destructive) {
        const row = TABLE.find((r) => r.bundle === bundle)!;
        const answer = await ask(target, row, w, 'GET', row.path(w));
        expect(answer.status, `GET to ${bundle} under ${target.name}`).toBe(405);
        expect(answer.code).toBe('method_not_allowed');
      }
      const ids = (list: { userId: string }[]) => list.map((m) => m.userId);
      expect(ids((await api('GET', `/api/guilds/${w.guildId}/members`, as)).body.members)).toContain(w.third.id);
      expect(ids((await api('GET', `/api/channels/${w.channelId}/members`, as)).body.members)).toContain(w.third.id);
      expect((await api('GET', `/api/messages/${w.messageId}`, as)).body.message.content).toBe('first');
      expect((await api('GET', `/api/channels/${w.channelId}/canvas`, as)).body.canvas.content).toBe('# kept');
      expect((await api('HEAD', `/api/files/${w.fileId}`, as)).status).toBe(200);
    }
  }, 120_000);
});
