/**
 * Split mode with real processes: an API process (scripts/api.ts) and realtime processes
 * (scripts/realtime.ts) started separately, sharing one database; events travel over the
 * internal emit channel (realtime.md), and across realtime processes through Redis.
 */
import { createServer, type AddressInfo, type Server, type Socket as NetSocket } from 'node:net';
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EmitMessage } from '../lib/realtime/emitter.js';
import { createHttpEmitter } from '../lib/realtime/http-emitter.js';
import type { DevCenter } from '../scripts/dev-center.js';
import {
  apiClient,
  centerClient,
  connectSocket,
  createTestDatabase,
  migrateTestDatabase,
  splitProcessEnv,
  emitAck,
  freePort,
  nextEvent,
  recordEvents,
  sleep,
  spawnNode,
  startCenter,
  type ChildRun,
  type TestDatabase,
  waitFor,
} from './helpers/harness.js';
import { closeClients, sdkClient, WAIT } from './helpers/sdk.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

const SECRET = `split-secret-${Math.random().toString(36).slice(2)}`;
/** Emit timeout of the API processes; a REST call must never wait for it. */
const EMIT_TIMEOUT_MS = 4000;
const REDIS_URL = process.env.FABRIC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Realtime processes share Redis per node id: this run's stay apart from any other run on the same Redis. */
const NODE_ID = `split-node-${process.pid}`;

type Realtime = Awaited<ReturnType<typeof startRealtime>>;
type Api = Awaited<ReturnType<typeof startApi>>;

let center: DevCenter;
let db: TestDatabase;
const children: ChildRun[] = [];
const sockets: Socket[] = [];

/** A "realtime process" that accepts connections and never answers. */
let silent: Server;
const held: NetSocket[] = [];

// Every process of this file, started side by side (they are independent):
let realtime: Realtime; // + node: one API process, one realtime process
let node: Api;
let silentNode: Api; // an API process whose realtime process never answers
let redisA: Realtime; // + redisB, redisNode: two realtime processes sharing rooms through Redis
let redisB: Realtime;
let redisNode: Api;
let redisC: Realtime; // a third one, for the test that freezes it

beforeAll(async () => {
  center = await startCenter();
  db = await createTestDatabase();
  // Migrate once here, so that the processes can start in parallel with DB_SYNC=false.
  await migrateTestDatabase(db);
  silent = createServer((sock) => held.push(sock));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const redis = { FABRIC_BACKEND_GUILD_REDIS_URL: REDIS_URL };
  [realtime, redisA, redisB, redisC] = await Promise.all([startRealtime(), startRealtime(redis), startRealtime(redis), startRealtime(redis)]);
  [node, silentNode, redisNode] = await Promise.all([
    startApi(realtime.internalUrl),
    startApi(`http://127.0.0.1:${(silent.address() as AddressInfo).port}`),
    startApi(redisA.internalUrl),
  ]);
}, 120_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  await Promise.all(children.map((c) => c.stop()));
  for (const s of held) s.destroy();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  await center?.close();
  await db?.drop();
});
afterEach(closeClients);

const baseEnv = (extra: Record<string, string> = {}) => splitProcessEnv(center, db, { nodeId: NODE_ID, secret: SECRET }, extra);

/** Starts scripts/realtime.ts on free ports; resolves with its public and internal URLs. */
async function startRealtime(extra: Record<string, string> = {}) {
  const child = spawnNode('scripts/realtime.ts', baseEnv({ FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0', ...extra }));
  children.push(child);
  const { port, internalPort } = await child.waitForLog('guild node realtime listening');
  return { child, url: `http://127.0.0.1:${port}`, internalUrl: `http://127.0.0.1:${internalPort}` };
}

/** Starts scripts/api.ts sending its emits to `internalUrl`; resolves with its URL and a client. */
async function startApi(internalUrl: string) {
  const child = spawnNode('scripts/api.ts', baseEnv({ FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: internalUrl, FABRIC_BACKEND_GUILD_EMIT_TIMEOUT_MS: String(EMIT_TIMEOUT_MS) }));
  children.push(child);
  const { port } = await child.waitForLog('guild node API listening');
  const url = `http://127.0.0.1:${port}`;
  return { child, url, api: apiClient(url) };
}

async function socketOn(url: string, token: string) {
  const s = await connectSocket(url, token);
  sockets.push(s);
  return s;
}

/** An owner, a member, and a guild with both, created through `api`. */
async function guildOf(api: ReturnType<typeof apiClient>) {
  const users = centerClient(center);
  const owner = await users.user('owner');
  const member = await users.user('member');
  const g = await api('POST', '/api/guilds', { token: owner.token, body: { name: 'Split' } });
  expect(g.status).toBe(201);
  const added = await api('POST', `/api/guilds/${g.body.guild.id}/members`, { token: owner.token, body: { userIds: [member.id] } });
  expect(added.status).toBe(200);
  return { owner, member, guildId: g.body.guild.id as string };
}

function postInternal(internalUrl: string, path: string, body: string, secret?: string) {
  return fetch(internalUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret !== undefined ? { authorization: `Bearer ${secret}` } : {}) },
    body,
  });
}

describe('split mode: one API process, one realtime process', () => {
  it('delivers channel.joined, produced by a REST call to the API process, to a socket on the realtime process', async () => {
    const { owner, member, guildId } = await guildOf(node.api);
    const s = await socketOn(realtime.url, member.token);
    const joined = nextEvent(s, 'channel.joined');
    const created = await node.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'split', xType: 'general', memberUserIds: [member.id] } });
    expect(created.status).toBe(201);
    expect(await joined).toMatchObject({ channelId: created.body.channel.id, userId: member.id, xType: 'general' });
    // The realtime process reads the same database: the member may subscribe to the channel.
    expect(await emitAck(s, 'join_channel', { channelId: created.body.channel.id })).toEqual({ ok: true, pos: expect.any(Number) });
    const updated = nextEvent(s, 'channel.updated');
    expect((await node.api('PATCH', `/api/channels/${created.body.channel.id}`, { token: owner.token, body: { topic: 'now split' } })).status).toBe(200);
    expect(await updated).toMatchObject({ channel: { id: created.body.channel.id, topic: 'now split' } });
  });

  it('serves the client SDK given separate URLs (REST: the API process, realtimeUrl: the realtime process): in order, posting with clientMsgId', async () => {
    const { owner, member, guildId } = await guildOf(node.api);
    const created = await node.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'sdk', xType: 'general', memberUserIds: [member.id] } });
    expect(created.status).toBe(201);
    const channelId: string = created.body.channel.id;
    // The API process serves no socket.io in split mode: what the agent receives came through the realtime process.
    const agent = sdkClient(node.url, member, { realtimeUrl: `${realtime.url}/` });
    const author = sdkClient(node.url, owner, { realtimeUrl: realtime.url });
    expect(agent.c.realtimeUrl).toBe(realtime.url);
    await Promise.all([agent.c.connect(), author.c.connect()]);
    expect(agent.c.positions()).toEqual({ [channelId]: 0 });

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await author.c.post(channelId, { content: `message ${i}`, clientMsgId: `split-sdk-${channelId}-${i}` });
      expect(r.created).toBe(true);
      ids.push(r.message!.id);
    }
    // The same clientMsgId again (a retry after a lost answer): the stored message, not a second one.
    const again = await author.c.post(channelId, { content: 'message 0', clientMsgId: `split-sdk-${channelId}-0` });
    expect(again).toMatchObject({ created: false, message: { id: ids[0], seq: 1 } });
    // The agent replies; the SDK generates its clientMsgId.
    const reply = await agent.c.post(channelId, 'a reply');
    expect(reply.created).toBe(true);
    expect(reply.message!.clientMsgId).toEqual(expect.any(String));
    ids.push(reply.message!.id);

    await expect.poll(() => agent.seen.map((d) => d.message.id), WAIT).toEqual(ids);
    expect(agent.seen.map((d) => d.message.pos)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(agent.seen.map((d) => d.info.source)).toEqual(Array(6).fill('live'));
    expect(agent.seen.slice(0, 5).map((d) => d.info.wakeup)).toEqual(Array(5).fill(true));
    await expect.poll(() => author.seen.map((d) => d.message.id), WAIT).toEqual(ids);
  });

  it('answers POST /internal/emit with 401 for a wrong or missing secret, and delivers nothing', async () => {
    const { member } = await guildOf(node.api);
    const s = await socketOn(realtime.url, member.token);
    const seen: unknown[] = [];
    s.on('channel.left', (d) => seen.push(d));
    const body = JSON.stringify({ emits: [{ to: { user: member.id }, event: 'channel.left', data: { channelId: 'x', userId: member.id } }] });
    expect((await postInternal(realtime.internalUrl, '/internal/emit', body, 'wrong-secret')).status).toBe(401);
    expect((await postInternal(realtime.internalUrl, '/internal/emit', body)).status).toBe(401);
    const leave = JSON.stringify({ userId: member.id, channelId: 'x' });
    expect((await postInternal(realtime.internalUrl, '/internal/rooms/leave', leave, 'wrong-secret')).status).toBe(401);
    // The right secret goes through, and it is the only delivery.
    const delivered = nextEvent(s, 'channel.left');
    expect((await postInternal(realtime.internalUrl, '/internal/emit', body, SECRET)).status).toBe(202);
    expect(await delivered).toMatchObject({ channelId: 'x', userId: member.id });
    expect(seen).toHaveLength(1);
  });

  it('answers a malformed POST /internal/emit with 400 and keeps serving', async () => {
    const malformed = [
      '{not json',
      '[]',
      JSON.stringify({ emits: 'nope' }),
      JSON.stringify({ emits: [{ to: { room: 'x' }, event: 'e', data: {} }] }),
      JSON.stringify({ emits: [{ to: { user: 'u' }, data: {} }] }),
    ];
    for (const body of malformed) {
      const res = await postInternal(realtime.internalUrl, '/internal/emit', body, SECRET);
      expect(res.status, body).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
    expect((await postInternal(realtime.internalUrl, '/internal/rooms/leave', '{}', SECRET)).status).toBe(400);
    expect((await postInternal(realtime.internalUrl, '/internal/emit', JSON.stringify({ emits: [] }), SECRET)).status).toBe(202);
    const malformedBatches = [
      JSON.stringify({ ops: 'nope' }),
      JSON.stringify({ ops: [{ nope: {} }] }),
      JSON.stringify({ ops: [{ leave: { userId: 'u' } }] }),
      JSON.stringify({ ops: [{ emit: { to: { user: 'u' }, event: 'e', data: {} }, leave: { userId: 'u', channelId: 'c' } }] }),
      JSON.stringify({ ops: [{ guild: { userId: 'u', guildId: 'g' } }] }),
    ];
    for (const body of malformedBatches) expect((await postInternal(realtime.internalUrl, '/internal/batch', body, SECRET)).status, body).toBe(400);
    expect((await postInternal(realtime.internalUrl, '/internal/batch', JSON.stringify({ ops: [] }), SECRET)).status).toBe(202);
  });

  it('refuses, with 400 and as a whole, emits that name an event socket.io reserves', async () => {
    const { member } = await guildOf(node.api);
    const s = await socketOn(realtime.url, member.token);
    const seen = recordEvents(s, 'channel.left');
    const toMember = (event: string, channelId: string) => ({ to: { user: member.id }, event, data: { channelId, userId: member.id } });
    for (const reserved of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
      const emits = [toMember('channel.left', 'before'), toMember(reserved, 'x'), toMember('channel.left', 'after')];
      const res = await postInternal(realtime.internalUrl, '/internal/emit', JSON.stringify({ emits }), SECRET);
      expect(res.status, reserved).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
      const batch = JSON.stringify({ ops: emits.map((emit) => ({ emit })) });
      expect((await postInternal(realtime.internalUrl, '/internal/batch', batch, SECRET)).status, reserved).toBe(400);
    }
    // Nothing of the refused calls went out: the next event is the only one.
    const barrier = nextEvent(s, 'channel.left');
    expect((await postInternal(realtime.internalUrl, '/internal/emit', JSON.stringify({ emits: [toMember('channel.left', 'barrier')] }), SECRET)).status).toBe(202);
    await barrier;
    expect(seen.map((e) => e.channelId)).toEqual(['barrier']);
    expect(s.connected).toBe(true);
  });

  it('refuses, with 400 and as a whole, an emit to a guild room that carries a stream position (guild rooms have no stream)', async () => {
    const { member, guildId } = await guildOf(node.api);
    const s = await socketOn(realtime.url, member.token);
    const seen = recordEvents(s, 'channel.left');
    const toMember = (channelId: string) => ({ to: { user: member.id }, event: 'channel.left', data: { channelId, userId: member.id } });
    const emits = [toMember('before'), { to: { guild: guildId }, event: 'presence', data: { userId: member.id, status: 'online' }, pos: 1 }, toMember('after')];
    const res = await postInternal(realtime.internalUrl, '/internal/emit', JSON.stringify({ emits }), SECRET);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    expect((await postInternal(realtime.internalUrl, '/internal/batch', JSON.stringify({ ops: emits.map((emit) => ({ emit })) }), SECRET)).status).toBe(400);
    const barrier = nextEvent(s, 'channel.left');
    expect((await postInternal(realtime.internalUrl, '/internal/emit', JSON.stringify({ emits: [toMember('barrier')] }), SECRET)).status).toBe(202);
    await barrier;
    expect(seen.map((e) => e.channelId)).toEqual(['barrier']);
  });

  it('gives the sockets of a user room the per-recipient wakeup of an emit with wake: true when the user is in it', async () => {
    const { owner, member } = await guildOf(node.api);
    const s = await socketOn(realtime.url, member.token);
    const other = await socketOn(realtime.url, owner.token);
    const seen = recordEvents(s, 'channel.joined');
    const otherSeen = recordEvents(other, 'channel.joined');
    const toUser = (userId: string, channelId: string, wake: string[]) => ({ to: { user: userId }, event: 'channel.joined', data: { channelId, userId }, wake });
    const emits = [toUser(member.id, 'woken', [member.id]), toUser(member.id, 'not-woken', [owner.id]), toUser(owner.id, 'other', [member.id])];
    expect((await postInternal(realtime.internalUrl, '/internal/emit', JSON.stringify({ emits }), SECRET)).status).toBe(202);
    await waitFor('the three emits', async () => (seen.length >= 2 && otherSeen.length >= 1 ? true : undefined), 3000);
    expect(seen.map((e) => [e.channelId, e.wakeup])).toEqual([
      ['woken', true],
      ['not-woken', false],
    ]);
    expect(otherSeen.map((e) => [e.channelId, e.wakeup])).toEqual([['other', false]]);
  });

  it('delivers, in order, a backlog bigger than one internal call may carry (over 10000 emits, over 32 MB)', async () => {
    const { member } = await guildOf(node.api);
    const s = await socketOn(realtime.url, member.token);
    const received: number[] = [];
    s.on('channel.updated', (e: { n: number }) => received.push(e.n));
    const emitter = createHttpEmitter({ url: realtime.internalUrl, secret: SECRET, timeoutMs: 10_000 });
    try {
      // All queued behind the first call, so they pile up: 10001 small emits, then 400 of
      // ~100 KB in JSON (control characters are escaped six bytes each).
      const big = '\u0001'.repeat(16_000);
      let n = 0;
      // Built by hand: this is about the transport, not about a contract payload.
      const wire = (data: Record<string, unknown>): EmitMessage => ({ to: { user: member.id }, event: 'channel.updated', data });
      for (let i = 0; i < 10_002; i++) emitter.publish([wire({ n: n++ })]);
      for (let i = 0; i < 400; i++) emitter.publish([wire({ n: n++, big })]);
      await emitter.flush();
      expect(emitter.stats).toMatchObject({ sent: n, failed: 0, dropped: 0 });
      await expect.poll(() => received.length, { timeout: 10_000 }).toBe(n);
      expect(received).toEqual(Array.from({ length: n }, (_, i) => i));
    } finally {
      await emitter.close();
    }
  });

  it('moves the sockets of a user added to a guild into its room (POST /internal/rooms/guild)', async () => {
    const { owner, guildId } = await guildOf(node.api);
    const newcomer = await centerClient(center).user('newcomer');
    const s = await socketOn(realtime.url, newcomer.token);
    const added = await node.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [newcomer.id] } });
    expect(added.body).toEqual({ added: [newcomer.id] });
    // Emits and room changes go to the realtime process in order: once a later channel.joined
    // reached the newcomer, its sockets are in the guild room.
    const joined = nextEvent(s, 'channel.joined');
    const ch = await node.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'barrier', xType: 'general', memberUserIds: [newcomer.id] } });
    expect(ch.status).toBe(201);
    await joined;
    const online = nextEvent(s, 'presence', 5000, (e: { userId: string }) => e.userId === owner.id);
    await socketOn(realtime.url, owner.token);
    expect(await online).toEqual({ userId: owner.id, status: 'online' });
    const body = JSON.stringify({ userId: newcomer.id, guildId, member: false });
    expect((await postInternal(realtime.internalUrl, '/internal/rooms/guild', body, 'wrong-secret')).status).toBe(401);
    expect((await postInternal(realtime.internalUrl, '/internal/rooms/guild', JSON.stringify({ userId: newcomer.id }), SECRET)).status).toBe(400);
    expect((await postInternal(realtime.internalUrl, '/internal/rooms/guild', body, SECRET)).status).toBe(202);
  });

  it('keeps REST calls succeeding promptly after the realtime process stopped', async () => {
    const { owner, member, guildId } = await guildOf(node.api);
    await realtime.child.stop();
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const created = await node.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: `after-${i}`, xType: 'general', memberUserIds: [member.id] } });
      expect(created.status).toBe(201);
      expect(Date.now() - started).toBeLessThan(EMIT_TIMEOUT_MS);
    }
    await node.child.waitForLog('emit failed');
    expect((await node.api('GET', '/api/health')).status).toBe(200);
    expect(node.child.proc.exitCode).toBeNull();
  });
});

describe('split mode: a realtime process that accepts connections and never answers', () => {
  it('answers REST calls without waiting for the emit (bounded by the emit timeout)', async () => {
    const { owner, member, guildId } = await guildOf(silentNode.api);
    for (let i = 0; i < 3; i++) {
      const started = Date.now();
      const created = await silentNode.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: `silent-${i}`, xType: 'general', memberUserIds: [member.id] } });
      expect(created.status).toBe(201);
      expect(Date.now() - started).toBeLessThan(EMIT_TIMEOUT_MS);
    }
    expect(held.length).toBeGreaterThan(0);
    // The stuck emit is given up on after the timeout, logged, and the process keeps serving.
    await silentNode.child.waitForLog('emit failed', EMIT_TIMEOUT_MS + 10_000);
    expect((await silentNode.api('GET', '/api/guilds', { token: owner.token })).status).toBe(200);
  });
});

describe('split mode: two realtime processes sharing rooms through Redis', () => {
  it('delivers an emit received by one realtime process to sockets connected to the other', async () => {
    const { owner, member, guildId } = await guildOf(redisNode.api);
    const onA = await socketOn(redisA.url, member.token);
    const onB = await socketOn(redisB.url, member.token);
    const joinedA = nextEvent(onA, 'channel.joined');
    const joinedB = nextEvent(onB, 'channel.joined');
    const created = await redisNode.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'redis', xType: 'general', memberUserIds: [member.id] } });
    expect(created.status).toBe(201);
    expect(await joinedB).toMatchObject({ channelId: created.body.channel.id, userId: member.id });
    expect(await joinedA).toMatchObject({ channelId: created.body.channel.id, userId: member.id });
  });

  it('takes a removed member out of the channel room, on every process, before an emit that follows at once', async () => {
    const { owner, member, guildId } = await guildOf(redisNode.api);
    const ch = await redisNode.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'leave-then-emit', xType: 'general', memberUserIds: [member.id] } });
    expect(ch.status).toBe(201);
    const channelId: string = ch.body.channel.id;
    // One socket on the process that receives the calls, one on the other.
    const removed = [await socketOn(redisA.url, member.token), await socketOn(redisB.url, member.token)];
    const leaked = removed.map((x) => recordEvents(x, 'message.created'));
    const emit = (round: number) => ({ to: { channel: channelId }, event: 'message.created', data: { round }, wake: [] });
    const post = async (path: string, body: unknown) => expect((await postInternal(redisA.internalUrl, path, JSON.stringify(body), SECRET)).status).toBe(202);
    for (let round = 0; round < 30; round++) {
      for (const x of removed) expect(await emitAck(x, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
      // Alternately as two calls (as an older API process sends them) and as one batch.
      if (round % 2 === 0) {
        await post('/internal/rooms/leave', { userId: member.id, channelId });
        await post('/internal/emit', { emits: [emit(round)] });
      } else {
        await post('/internal/batch', { ops: [{ leave: { userId: member.id, channelId } }, { emit: emit(round) }] });
      }
      // A later event through the same process reaches each socket after anything sent before
      // it; only then may the sockets join again (the other process receives the broadcast
      // through Redis, possibly after a join the client sent straight to it).
      const barrier = `barrier-${round}`;
      const barriers = removed.map((x) => nextEvent(x, 'channel.left', 5000, (e: { channelId: string }) => e.channelId === barrier));
      await post('/internal/emit', { emits: [{ to: { user: member.id }, event: 'channel.left', data: { channelId: barrier, userId: member.id } }] });
      await Promise.all(barriers);
    }
    expect(leaked).toEqual([[], []]);
  });

  it('sends a removal through the API so that the removed member gets nothing of the channel after its channel.left', async () => {
    const { owner, member, guildId } = await guildOf(redisNode.api);
    const ch = await redisNode.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'removal', xType: 'general', memberUserIds: [member.id] } });
    const channelId: string = ch.body.channel.id;
    const witness = await socketOn(redisA.url, owner.token);
    expect(await emitAck(witness, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
    const s = await socketOn(redisA.url, member.token);
    let left = false;
    const afterLeft: unknown[] = [];
    s.on('channel.left', () => (left = true));
    s.on('message.created', (m: unknown) => left && afterLeft.push(m));
    for (let round = 0; round < 6; round++) {
      if (round > 0) {
        const joined = nextEvent(s, 'channel.joined');
        expect((await redisNode.api('POST', `/api/channels/${channelId}/members`, { token: owner.token, body: { userIds: [member.id] } })).status).toBe(200);
        await joined;
      }
      expect(await emitAck(s, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
      left = false;
      const posts = Array.from({ length: 6 }, (_, k) =>
        redisNode.api('POST', `/api/channels/${channelId}/messages`, { token: owner.token, body: { content: `round ${round} post ${k}` } }),
      );
      const removal = redisNode.api('DELETE', `/api/channels/${channelId}/members/${member.id}`, { token: owner.token });
      const done = await Promise.all([removal, ...posts]);
      expect(done.map((r) => r.status)).toEqual([204, 201, 201, 201, 201, 201, 201]);
      // The witness got every post: anything sent to the member's sockets came before.
      const last = nextEvent(witness, 'message.created', 5000, (m: { content: string }) => m.content === `round ${round} barrier`);
      await redisNode.api('POST', `/api/channels/${channelId}/messages`, { token: owner.token, body: { content: `round ${round} barrier` } });
      await last;
    }
    expect(afterLeft).toEqual([]);
  });

  it('relays presence from one realtime process to guild members connected to the other', async () => {
    const { owner, member } = await guildOf(redisNode.api);
    const watcher = await socketOn(redisB.url, owner.token);
    const online = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
    const s = await socketOn(redisA.url, member.token);
    expect(await online).toEqual({ userId: member.id, status: 'online' });
    const offline = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
    s.close();
    expect(await offline).toEqual({ userId: member.id, status: 'offline' });
  });

  it('accepts connections promptly and announces presence while another realtime process does not answer', async () => {
    const { owner, member } = await guildOf(redisNode.api);
    const watcher = await socketOn(redisB.url, owner.token);
    const warning = 'presence counts only the realtime processes that answer';
    const warningsBefore = redisA.child.stderr().split(warning).length;
    redisC.child.proc.kill('SIGSTOP');
    try {
      const online = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
      const started = Date.now();
      const s = await socketOn(redisA.url, member.token);
      // It used to wait 5 s for the frozen process, then refuse the connection ("internal").
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await online).toEqual({ userId: member.id, status: 'online' });
      const offline = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
      s.close();
      expect(await offline).toEqual({ userId: member.id, status: 'offline' });
      // Said once for both counts, not once per count.
      expect(redisA.child.stderr().split(warning).length - warningsBefore).toBe(1);
    } finally {
      redisC.child.proc.kill('SIGCONT');
    }
  });

  it('keeps a user online whose new socket is accepted on one realtime process while its last socket on another disconnects', { timeout: 20_000 }, async () => {
    const { owner, member } = await guildOf(redisNode.api);
    const watcher = await socketOn(redisB.url, owner.token);
    const online = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
    const first = await socketOn(redisA.url, member.token);
    await online;
    const seen = recordEvents(watcher, 'presence');
    // A frozen process stretches every count of sockets to the peers' answer timeout (1 s): the new
    // socket is counted against the old one long before it joins its rooms.
    redisC.child.proc.kill('SIGSTOP');
    try {
      const second = socketOn(redisB.url, member.token);
      await sleep(300); // its count has asked redisA, where the first socket still is
      first.close();
      await second;
      await sleep(3500); // an offline of the first socket would be out by now (two counts and a query)
    } finally {
      redisC.child.proc.kill('SIGCONT');
    }
    expect(seen.filter((p: { userId: string }) => p.userId === member.id)).toEqual([]);
  });

  it('accepts connections promptly, announces presence and shuts down promptly while Redis is down', { timeout: 40_000 }, async () => {
    const { owner, member } = await guildOf(redisNode.api);
    const redis = new URL(REDIS_URL);
    const proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    try {
      const cut = await startRealtime({ FABRIC_BACKEND_GUILD_REDIS_URL: proxy.url('redis') });
      const watcher = await socketOn(cut.url, owner.token);
      await proxy.cut();
      await cut.child.waitForLog('redis error');
      const online = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
      const started = Date.now();
      const s = await socketOn(cut.url, member.token);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(await online).toEqual({ userId: member.id, status: 'online' });
      const offline = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
      s.close();
      expect(await offline).toEqual({ userId: member.id, status: 'offline' });
      const stopping = Date.now();
      await cut.child.stop();
      // Under the 5 s after which the process would be killed.
      expect(Date.now() - stopping).toBeLessThan(4000);
    } finally {
      await proxy.close();
    }
  });

  it('accepts no socket before its rooms are shared through Redis', { timeout: 40_000 }, async () => {
    const user = await centerClient(center).user('early');
    const redis = new URL(REDIS_URL);
    // Redis answers only after a while: the process must not serve sockets meanwhile.
    const proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) }, { delayMs: 1000 });
    const port = await freePort();
    const child = spawnNode(
      'scripts/realtime.ts',
      baseEnv({ FABRIC_BACKEND_GUILD_REALTIME_PORT: String(port), FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0', FABRIC_BACKEND_GUILD_REDIS_URL: proxy.url('redis') }),
    );
    children.push(child);
    try {
      const url = `http://127.0.0.1:${port}`;
      let early: Socket | undefined;
      const deadline = Date.now() + 20_000;
      while (!early && Date.now() < deadline) {
        early = await socketOn(url, user.token).catch(() => sleep(25).then(() => undefined));
      }
      expect(early?.connected).toBe(true);
      const { internalPort } = await child.waitForLog('guild node realtime listening');
      // The first socket it accepted is in its user room: it gets what is sent there.
      const got = nextEvent(early!, 'channel.joined');
      const body = JSON.stringify({ emits: [{ to: { user: user.id }, event: 'channel.joined', data: { channelId: 'early', userId: user.id } }] });
      expect((await postInternal(`http://127.0.0.1:${internalPort}`, '/internal/emit', body, SECRET)).status).toBe(202);
      expect(await got).toMatchObject({ channelId: 'early' });
    } finally {
      await child.stop();
      await proxy.close();
    }
  });

  it('relays typing at most once per user and channel per 2 s across realtime processes', async () => {
    const { owner, member, guildId } = await guildOf(redisNode.api);
    const ch = await redisNode.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'typing', xType: 'general', memberUserIds: [member.id] } });
    const channelId: string = ch.body.channel.id;
    const watcher = await socketOn(redisA.url, owner.token);
    const onA = await socketOn(redisA.url, member.token);
    const onB = await socketOn(redisB.url, member.token);
    for (const x of [watcher, onA, onB]) expect(await emitAck(x, 'join_channel', { channelId })).toEqual({ ok: true, pos: expect.any(Number) });
    const relayed = recordEvents(watcher, 'typing');
    const first = nextEvent(watcher, 'typing');
    onA.emit('typing', { channelId });
    await first;
    onB.emit('typing', { channelId });
    onA.emit('typing', { channelId });
    await sleep(500);
    expect(relayed).toEqual([{ channelId, userId: member.id }]);
  });

  it('announces offline, to the other processes, the users whose last socket was on a realtime process that shuts down — and leaves their sockets connected', async () => {
    const { owner, member } = await guildOf(redisNode.api);
    const leaving = await startRealtime({ FABRIC_BACKEND_GUILD_REDIS_URL: REDIS_URL });
    const watcher = await socketOn(redisB.url, owner.token);
    const watcherDrops: string[] = [];
    watcher.on('disconnect', (reason) => watcherDrops.push(reason));
    const online = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
    await socketOn(leaving.url, member.token);
    expect(await online).toEqual({ userId: member.id, status: 'online' });
    const offline = nextEvent(watcher, 'presence', 5000, (p: { userId: string }) => p.userId === member.id);
    await leaving.child.stop();
    expect(await offline).toEqual({ userId: member.id, status: 'offline' });
    // Still connected to its own process, and still served by it.
    expect(watcherDrops).toEqual([]);
    expect(watcher.connected).toBe(true);
    expect(await emitAck(watcher, 'join_channel', { channelId: 'no-such-channel' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});
