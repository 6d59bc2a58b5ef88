/**
 * Every handler bundle of dist/handlers, hosted alone under Node (node:http) and under Bun
 * (Bun.serve), answers its own method and path with the same status and the same body shape
 * as the routed server. Each of the three targets gets its own guild, channels, message and
 * file (created through the routed server on one shared database), and the same table of
 * requests runs against each, in order (the destructive ones last). The table names every
 * bundle: a new endpoint without a row fails the test.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { migrateToLatest, openDatabase } from '../lib/db/index.js';
import { startAllInOne } from '../lib/server/start.js';
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
  { bundle: 'guilds/members-update', method: 'PATCH', path: (w) => `/api/guilds/${w.guildId}/members/${w.member.id}`, body: () => ({ kind: 'agent' }) },
  { bundle: 'channels/create', method: 'POST', path: () => '/api/channels', body: (w) => ({ guildId: w.guildId, name: 'new', xType: 'general', isPublic: true }) },
  { bundle: 'channels/list', method: 'GET', path: (w) => `/api/channels?guildId=${w.guildId}` },
  { bundle: 'channels/get', method: 'GET', path: (w) => `/api/channels/${w.channelId}` },
  { bundle: 'channels/update', method: 'PATCH', path: (w) => `/api/channels/${w.channelId}`, body: () => ({ topic: 'now' }) },
  { bundle: 'channels/members-list', method: 'GET', path: (w) => `/api/channels/${w.channelId}/members` },
  { bundle: 'channels/members-add', method: 'POST', path: (w) => `/api/channels/${w.channelId}/members`, body: (w) => ({ userIds: [w.third.id] }) },
  { bundle: 'channels/wake-mapping-get', method: 'GET', path: (w) => `/api/channels/${w.triageId}/wake-mapping` },
  { bundle: 'channels/wake-mapping-put', method: 'PUT', path: (w) => `/api/channels/${w.triageId}/wake-mapping`, body: (w) => ({ userIds: [w.member.id] }) },
  { bundle: 'messages/create', method: 'POST', path: (w) => `/api/channels/${w.channelId}/messages`, body: () => ({ content: 'hello' }) },
  { bundle: 'channels/presence-get', method: 'GET', path: (w) => `/api/channels/${w.channelId}/presence` },
  { bundle: 'channels/loop-guard-reset', method: 'POST', path: (w) => `/api/channels/${w.channelId}/loop-guard/reset` },
  { bundle: 'channels/read-put', method: 'PUT', path: (w) => `/api/channels/${w.channelId}/read`, body: () => ({ seq: 1 }) },
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
    return Object.fromEntries(Object.keys(value as object).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]));
  }
  return typeof value;
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
  const env = nodeEnv(center, db, { FABRIC_BACKEND_GUILD_NODE_ID: 'conformance-node' });
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

async function send(target: (typeof targets)[number], row: Row, w: World) {
  const headers: Record<string, string> = target.viaBundle ? { 'x-fabric-bundle': `handlers/${row.bundle}.js` } : {};
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
  return { status: res.status, shape: typeof json === 'string' ? `text of ${json.length}` : shape(json) };
}

describe('every handler bundle, hosted alone under Node and under Bun, answers as the routed server', () => {
  it('the table names every bundle of dist/handlers', () => {
    expect(TABLE.map((r) => `handlers/${r.bundle}.js`).sort()).toEqual(handlerBundles(DIST));
  });

  it('right method and path: the same status and body shape, row by row', async () => {
    const worlds = new Map<string, World>();
    for (const t of targets) worlds.set(t.name, await makeWorld());
    for (const row of TABLE) {
      const [routedAnswer, ...hosted] = await Promise.all(targets.map((t) => send(t, row, worlds.get(t.name)!)));
      expect(routedAnswer.status, `${row.method} ${row.bundle} (routed)`).toBeLessThan(300);
      hosted.forEach((answer, i) => expect(answer, `${row.method} ${row.bundle} under ${targets[i + 1].name}`).toEqual(routedAnswer));
    }
  }, 120_000);
});
