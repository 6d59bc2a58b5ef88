/**
 * Bun as a runtime: the built entry points run under `bun` (the devDependency's binary) on
 * the database of this run (SQLite through Bun's built-in `bun:sqlite`, or MySQL), all-in-one
 * and split, and carry the main flows: create a guild and a channel, post, read the history,
 * receive the event over socket.io, upload and download a file.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCenter } from '../scripts/dev-center.js';
import {
  apiClient,
  BUN,
  centerClient,
  cleanEnv,
  connectSocket,
  createTestDatabase,
  emitAck,
  nextEvent,
  nodeEnv,
  REPO_ROOT,
  spawnNode,
  startCenter,
  TEST_DB,
  type ChildRun,
  type TestDatabase,
} from './helpers/harness.js';

const run = promisify(execFile);
const SECRET = 'bun-split-secret';

let center: DevCenter;
const dbs: TestDatabase[] = [];
const children: ChildRun[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: REPO_ROOT, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  center = await startCenter();
}, 180_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(children.map((c) => c.stop()));
  await center?.close();
  for (const db of dbs) await db.drop();
});

async function freshEnv(extra: Record<string, string> = {}) {
  const db = await createTestDatabase();
  dbs.push(db);
  return nodeEnv(center, db, { FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info', ...extra });
}

function startBun(file: string, env: Record<string, string>): ChildRun {
  const child = spawnNode(file, env, { runtime: 'bun' });
  children.push(child);
  return child;
}

/** The main flows of a node whose REST API is at `apiUrl` and socket.io at `socketUrl`. */
async function mainFlows(apiUrl: string, socketUrl: string) {
  const api = apiClient(apiUrl);
  const users = centerClient(center);
  const owner = await users.user('owner');
  const member = await users.user('member');

  const guild = await api('POST', '/api/guilds', { token: owner.token, body: { name: 'Under Bun' } });
  expect(guild.status, JSON.stringify(guild.body)).toBe(201);
  const guildId = guild.body.guild.id as string;
  expect((await api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [member.id] } })).status).toBe(200);
  const channel = await api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'bun', xType: 'general', memberUserIds: [member.id] } });
  expect(channel.status, JSON.stringify(channel.body)).toBe(201);
  const channelId = channel.body.channel.id as string;

  const socket = await connectSocket(socketUrl, member.token);
  sockets.push(socket);
  expect(await emitAck(socket, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
  const delivered = nextEvent(socket, 'message.created', 10_000);
  const posted = await api('POST', `/api/channels/${channelId}/messages`, { token: owner.token, body: { content: 'hello from under Bun' } });
  expect(posted.status, JSON.stringify(posted.body)).toBe(201);
  expect(posted.body.message).toMatchObject({ seq: 1, content: 'hello from under Bun', authorId: owner.id });
  expect(await delivered).toEqual({ ...posted.body.message, wakeup: true });

  const history = await api('GET', `/api/channels/${channelId}/messages`, { token: member.token });
  expect(history.status).toBe(200);
  expect(history.body.messages.map((m: { id: string }) => m.id)).toEqual([posted.body.message.id]);

  const bytes = 'bytes stored by a node under Bun\n'.repeat(1000);
  const form = new FormData();
  form.append('file', new Blob([bytes], { type: 'text/plain' }), 'bun.txt');
  const uploaded = await api('POST', '/api/files', { token: owner.token, rawBody: form });
  expect(uploaded.status, JSON.stringify(uploaded.body)).toBe(201);
  expect(uploaded.body.file).toMatchObject({ name: 'bun.txt', size: bytes.length, mime: 'text/plain' });
  const download = await fetch(`${apiUrl}/api/files/${uploaded.body.file.id}`, { headers: { authorization: `Bearer ${owner.token}` } });
  expect(download.status).toBe(200);
  expect(await download.text()).toBe(bytes);
  const outsider = await users.user('outsider');
  expect((await fetch(`${apiUrl}/api/files/${uploaded.body.file.id}`, { headers: { authorization: `Bearer ${outsider.token}` } })).status).toBe(404);
}

describe(`under Bun, on ${TEST_DB}`, () => {
  it('the bun devDependency is a working Bun', async () => {
    const { stdout } = await run(BUN, ['--version'], { cwd: REPO_ROOT });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const { stdout: runtime } = await run(BUN, ['-e', 'console.log(typeof Bun.serve, process.versions.bun)'], { cwd: REPO_ROOT });
    expect(runtime.trim()).toMatch(/^function \d+\.\d+\.\d+/);
  });

  it('bun dist/main.js (all-in-one) migrates its database and carries the main flows', async () => {
    const node = startBun('dist/main.js', await freshEnv());
    const { port, db } = await node.waitForLog('guild node listening (all-in-one)');
    expect(db).toBe(TEST_DB);
    const url = `http://127.0.0.1:${port}`;
    await mainFlows(url, url);
    expect(node.stderr()).not.toMatch(/better-sqlite3|not yet supported|ERROR/);
  }, 60_000);

  it('bun dist/realtime.js + bun dist/api.js (split mode) carry the main flows, events through the internal channel', async () => {
    const env = await freshEnv({ FABRIC_BACKEND_GUILD_INTERNAL_SECRET: SECRET });
    const realtime = startBun('dist/realtime.js', { ...env, FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0' });
    const { port: socketPort, internalPort } = await realtime.waitForLog('guild node realtime listening');
    const apiProcess = startBun('dist/api.js', { ...env, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${internalPort}` });
    const { port } = await apiProcess.waitForLog('guild node API listening');
    await mainFlows(`http://127.0.0.1:${port}`, `http://127.0.0.1:${socketPort}`);
    for (const child of [realtime, apiProcess]) expect(child.stderr()).not.toMatch(/emit failed|ERROR/);
  }, 60_000);
});
