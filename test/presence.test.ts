/**
 * GET /api/channels/:channelId/presence (agent-rooms.md "Presence snapshot"): the channel's
 * members with a connected socket on this node, sorted; readers only. All-in-one (the
 * in-process socket.io server), and split mode with real processes: an API process asking a
 * realtime process over `POST /internal/presence`, which counts sockets on a second realtime
 * process through Redis.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCenter } from '../scripts/dev-center.js';
import { expectError } from './helpers/expect-error.js';
import {
  apiClient,
  centerClient,
  connectSocket,
  createChannel,
  createTestDatabase,
  migrateTestDatabase,
  splitProcessEnv,
  spawnNode,
  startCenter,
  startTestNode,
  waitFor,
  type ChildRun,
  type TestDatabase,
  type TestNode,
} from './helpers/harness.js';
import { seedWorld, type World } from './helpers/world.js';

const sorted = (...ids: string[]) => [...ids].sort();

describe('GET /api/channels/:channelId/presence, all-in-one', () => {
  let t: TestNode;
  let w: World;
  beforeAll(async () => {
    t = await startTestNode();
    w = await seedWorld(t);
  });
  afterAll(async () => t?.close());

  const presence = (token: string, channelId: string) => t.api('GET', `/api/channels/${channelId}/presence`, { token });
  /** Polls until the snapshot equals `expected` (a disconnect is noticed by the server a moment after the client closes). */
  const presenceBecomes = (channelId: string, expected: string[]) =>
    waitFor(
      `presence ${JSON.stringify(expected)}`,
      async () => {
        const r = await presence(w.m1.token, channelId);
        return JSON.stringify(r.body.online) === JSON.stringify(expected) ? true : undefined;
      },
      10_000,
      50,
    );

  it('lists the members with a connected socket, sorted, and follows connects and disconnects', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'here', xType: 'general', memberUserIds: [w.m2.id] });
    const none = await presence(w.m1.token, ch.id);
    expect(none.status).toBe(200);
    expect(none.body).toEqual({ online: [] });
    const m1 = await t.socket(w.m1.token);
    expect((await presence(w.m1.token, ch.id)).body).toEqual({ online: [w.m1.id] });
    const m2a = await t.socket(w.m2.token);
    const m2b = await t.socket(w.m2.token);
    // Online guild members outside the channel, and guild-token sockets, are not listed.
    await t.socket(w.m3.token);
    await t.socket(w.guildToken);
    expect((await presence(w.m1.token, ch.id)).body).toEqual({ online: sorted(w.m1.id, w.m2.id) });
    m2a.close();
    await presenceBecomes(ch.id, sorted(w.m1.id, w.m2.id));
    m2b.close();
    await presenceBecomes(ch.id, [w.m1.id]);
    m1.close();
    await presenceBecomes(ch.id, []);
  });

  it('answers the channel readers: members, a guild member of a public channel, admins and the guild token', async () => {
    const pub = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'open', xType: 'general', isPublic: true });
    for (const token of [w.m1.token, w.m3.token, w.owner.token, w.admin.token, w.guildToken]) expect((await presence(token, pub.id)).status).toBe(200);
  });

  it('answers 404 to non-readers of a private channel and for an unknown channel, 401 without a token', async () => {
    const priv = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'closed-door', xType: 'general' });
    expectError(await presence(w.m3.token, priv.id), 404, 'not_found');
    expectError(await presence(w.outsider.token, priv.id), 404, 'not_found');
    expectError(await presence(w.m1.token, 'no-such-channel'), 404, 'not_found');
    expectError(await t.api('GET', `/api/channels/${priv.id}/presence`), 401, 'unauthorized');
  });
});

describe('GET /api/channels/:channelId/presence, split mode with two realtime processes sharing Redis', () => {
  const SECRET = `presence-secret-${Math.random().toString(36).slice(2)}`;
  const REDIS_URL = process.env.FABRIC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const NODE_ID = `presence-node-${process.pid}`;
  let center: DevCenter;
  let db: TestDatabase;
  const children: ChildRun[] = [];
  const sockets: Socket[] = [];
  let realtimeA: { url: string; internalUrl: string };
  let realtimeB: { url: string; internalUrl: string };
  let api: ReturnType<typeof apiClient>;

  const baseEnv = (extra: Record<string, string> = {}) => splitProcessEnv(center, db, { nodeId: NODE_ID, secret: SECRET }, extra);
  async function startRealtime() {
    const child = spawnNode(
      'scripts/realtime.ts',
      baseEnv({ FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0', FABRIC_BACKEND_GUILD_REDIS_URL: REDIS_URL }),
    );
    children.push(child);
    const { port, internalPort } = await child.waitForLog('guild node realtime listening');
    return { url: `http://127.0.0.1:${port}`, internalUrl: `http://127.0.0.1:${internalPort}` };
  }
  const socketOn = async (url: string, token: string) => {
    const s = await connectSocket(url, token);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    center = await startCenter();
    db = await createTestDatabase();
    await migrateTestDatabase(db);
    [realtimeA, realtimeB] = await Promise.all([startRealtime(), startRealtime()]);
    const child = spawnNode('scripts/api.ts', baseEnv({ FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: realtimeA.internalUrl }));
    children.push(child);
    const { port } = await child.waitForLog('guild node API listening');
    api = apiClient(`http://127.0.0.1:${port}`);
  }, 120_000);
  afterAll(async () => {
    for (const s of sockets) s.close();
    await Promise.all(children.map((c) => c.stop()));
    await center?.close();
    await db?.drop();
  });

  it('counts sockets on both realtime processes, and follows a disconnect on the one the API does not ask', async () => {
    const users = centerClient(center);
    const [owner, onA, onB, away] = await Promise.all([users.user('owner'), users.user('on-a'), users.user('on-b'), users.user('away')]);
    const g = await api('POST', '/api/guilds', { token: owner.token, body: { name: 'Presence' } });
    const guildId = g.body.guild.id as string;
    expect((await api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [onA.id, onB.id, away.id] } })).status).toBe(200);
    const ch = await api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'split', xType: 'general', memberUserIds: [onA.id, onB.id, away.id] } });
    const channelId = ch.body.channel.id as string;
    await socketOn(realtimeA.url, onA.token);
    const b = await socketOn(realtimeB.url, onB.token);
    const snapshot = async () => {
      const r = await api('GET', `/api/channels/${channelId}/presence`, { token: away.token });
      expect(r.status).toBe(200);
      return r.body.online as string[];
    };
    expect(await snapshot()).toEqual(sorted(onA.id, onB.id));
    b.close();
    await waitFor('onB offline', async () => (JSON.stringify(await snapshot()) === JSON.stringify([onA.id]) ? true : undefined), 10_000, 100);
  });

  it('answers POST /internal/presence only with the secret, and 400 for a malformed body', async () => {
    const call = (body: string, secret?: string) =>
      fetch(`${realtimeB.internalUrl}/internal/presence`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
        body,
      });
    expect((await call(JSON.stringify({ userIds: [] }))).status).toBe(401);
    expect((await call(JSON.stringify({ userIds: [] }), 'wrong')).status).toBe(401);
    expect((await call(JSON.stringify({ userIds: 'x' }), SECRET)).status).toBe(400);
    const ok = await call(JSON.stringify({ userIds: ['nobody'] }), SECRET);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ online: [] });
  });
});
