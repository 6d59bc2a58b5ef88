/**
 * The client SDK's resume against the real node (realtime.md "Streams, positions and
 * resume"): no scripted server, real HTTP and socket.io. The SDK reaches the node through a
 * TCP proxy that the test can take away and give back, so that events really happen while
 * the client is away (also across a kill -9 and restart of the node process). The test code
 * never pages REST itself: what the client sees is what the SDK delivered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FabricClient, SessionEndedError, type MessageInfo } from '../lib/client/index.js';
import type { ChannelMembershipEvent, Message, SessionEndedEvent } from '../lib/realtime/events.js';
import { runLogTrim } from '../lib/realtime/log-trim.js';
import {
  apiClient,
  centerClient,
  createChannel,
  createTestDatabase,
  freePort,
  nodeEnv,
  seedGuild,
  spawnNode,
  startCenter,
  startTestNode,
  type ChildRun,
  type TestNode,
  type TestUser,
} from './helpers/harness.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

/** The default node, with a short token cache so that a revocation is seen within about a second. */
let t: TestNode;
/** A node that keeps only the last 3 events of each stream (and no time rule). */
let short: TestNode;
const proxies: TcpProxy[] = [];
beforeAll(async () => {
  t = await startTestNode({ env: { FABRIC_BACKEND_GUILD_TOKEN_CACHE_SECONDS: '1' } });
  short = await startTestNode({ env: { FABRIC_BACKEND_GUILD_EVENT_RETENTION_EVENTS: '3', FABRIC_BACKEND_GUILD_EVENT_RETENTION_HOURS: '0' } });
}, 60_000);
afterAll(async () => {
  for (const p of proxies) await p.close();
  await Promise.all([t?.close(), short?.close()]);
});

const clients: FabricClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** Conditions are awaited, never timed: generous for a loaded machine. */
const WAIT = { timeout: 20_000 };

/** A client of `user` that reaches `node` through a proxy the test can take away. */
async function awayableClient(node: TestNode, user: TestUser) {
  const port = Number(new URL(node.url).port);
  const proxy = await startTcpProxy({ host: '127.0.0.1', port });
  proxies.push(proxy);
  const c = new FabricClient({ url: proxy.url('http'), token: user.token, userId: user.id, backoff: { baseMs: 50, maxMs: 300 } });
  clients.push(c);
  const seen: { message: Message; info: MessageInfo }[] = [];
  c.onMessage((message, info) => void seen.push({ message, info }));
  const resyncs: { channelId: string; messages: number }[] = [];
  c.onResync((e) => void resyncs.push(e));
  const reconnects: boolean[] = [];
  c.onConnected((e) => void reconnects.push(e.reconnect));
  /** Takes the network away (the server sees the socket close) until `back`. */
  const away = async () => {
    proxy.drop();
    await expect.poll(() => c.connected, WAIT).toBe(false);
  };
  /** Gives it back and waits until the client has reconnected and resumed. */
  const back = async () => {
    const before = reconnects.length;
    proxy.restore();
    await expect.poll(() => reconnects.length, WAIT).toBeGreaterThan(before);
  };
  return { c, seen, resyncs, reconnects, away, back };
}

async function post(node: TestNode, user: TestUser, channelId: string, content: string) {
  const r = await node.api('POST', `/api/channels/${channelId}/messages`, { token: user.token, body: { content } });
  expect(r.status).toBe(201);
  return r.body.message as Message;
}

describe('FabricClient resumes from its positions against the real node', () => {
  it('gets exactly the messages posted while it was away, in order, once each, marked replayed, without REST paging', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'away', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, resyncs, away, back } = await awayableClient(t, agent);
    await c.connect();
    const first = await post(t, owner, ch.id, 'before');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    await away();
    // The server drops its side too (a socket it closed itself must also be resumed).
    t.node.realtime.nsp.disconnectSockets(true);
    const during: Message[] = [];
    for (let i = 0; i < 6; i++) during.push(await post(t, owner, ch.id, `during ${i}`));
    await back();
    const last = await post(t, owner, ch.id, 'after');

    const expected = [first, ...during, last].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.message.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.map((s) => s.info.source)).toEqual(['live', ...during.map(() => 'replay'), 'live']);
    expect(seen.map((s) => s.info.replayed)).toEqual([false, ...during.map(() => true), false]);
    // A replay carries the wake this member got when the message was first sent.
    expect(seen.map((s) => [s.info.wakeup, s.info.wakeReason])).toEqual(expected.map(() => [true, 'general']));
    expect(resyncs).toEqual([]);
    // Positions, not just ids: the stream is delivered without a gap or a repeat.
    expect(seen.map((s) => (s.message as Message & { pos: number }).pos)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('is told to resync when its position fell out of the retention window, pages REST itself, and sees every message once', async () => {
    const { owner, members, guildId } = await seedGuild(short, 1);
    const [agent] = members;
    const ch = await createChannel(short, owner.token, { guildId, name: 'retained', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, resyncs, away, back } = await awayableClient(short, agent);
    await c.connect();
    const first = await post(short, owner, ch.id, 'before');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    await away();
    const during: Message[] = [];
    for (let i = 0; i < 8; i++) during.push(await post(short, owner, ch.id, `during ${i}`));
    // The node's trim (the job's own function, on the real database) drops all but the last 3 events.
    const trimmed = await runLogTrim(short.node.ctx);
    expect(trimmed.deleted).toBeGreaterThan(0);
    await back();
    await expect.poll(() => resyncs, WAIT).toEqual([{ channelId: ch.id, messages: 8 }]);
    const last = await post(short, owner, ch.id, 'after');

    const expected = [first, ...during, last].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.info.source)).toEqual(['live', ...during.map(() => 'resync'), 'live']);
    // REST does not say who was woken (realtime-client.md "Guarantees and their limits").
    expect(seen.slice(1, -1).map((s) => [s.info.replayed, s.info.wakeup])).toEqual(during.map(() => [true, false]));
  });

  it('replays channel.joined and channel.left of the user stream missed while away, and follows them', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const { c, seen, away, back } = await awayableClient(t, agent);
    const joined: ChannelMembershipEvent[] = [];
    const left: ChannelMembershipEvent[] = [];
    c.onChannelJoined((e) => void joined.push(e));
    c.onChannelLeft((e) => void left.push(e));
    await c.connect();
    // A first user event gives the client a user-stream position to resume from.
    const one = await createChannel(t, owner.token, { guildId, name: 'one', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => joined.map((e) => e.channelId), WAIT).toEqual([one.id]);
    await expect.poll(() => c.positions(), WAIT).toHaveProperty(one.id);

    await away();
    const two = await createChannel(t, owner.token, { guildId, name: 'two', xType: 'general', memberUserIds: [agent.id] });
    const removed = await t.api('DELETE', `/api/channels/${one.id}/members/${agent.id}`, { token: owner.token });
    expect(removed.status).toBe(204);
    await back();

    await expect.poll(() => joined.map((e) => e.channelId), WAIT).toEqual([one.id, two.id]);
    await expect.poll(() => left.map((e) => e.channelId), WAIT).toEqual([one.id]);
    const flag = (e: ChannelMembershipEvent) => (e as ChannelMembershipEvent & { replayed?: boolean }).replayed === true;
    expect([joined.map(flag), left.map(flag)]).toEqual([[false, true], [true]]);
    expect(Object.keys(c.positions())).toEqual([two.id]);
    // And the channel joined while away is followed live.
    const m = await post(t, owner, two.id, 'in two');
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual([m.id]);
  });
});

describe('FabricClient across a kill -9 and restart of the node process', () => {
  it('delivers every message posted around the restart exactly once and in order, without REST paging', async () => {
    const center = await startCenter();
    const db = await createTestDatabase();
    const port = await freePort();
    const env = nodeEnv(center, db, { FABRIC_BACKEND_GUILD_PORT: String(port), FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' });
    const start = async () => {
      const child = spawnNode('scripts/main.ts', env);
      await child.waitForLog('guild node listening', 60_000);
      return child;
    };
    let child: ChildRun = await start();
    try {
      const url = `http://127.0.0.1:${port}`;
      const node = { url, api: apiClient(url), centerApi: centerClient(center) } as unknown as TestNode;
      const { owner, members, guildId } = await seedGuild(node, 1);
      const [agent] = members;
      const ch = await createChannel(node, owner.token, { guildId, name: 'restart', xType: 'general', memberUserIds: [agent.id] });
      // The client comes through a proxy, so that it is surely away while the restarted node takes posts.
      const proxy = await startTcpProxy({ host: '127.0.0.1', port });
      proxies.push(proxy);
      const c = new FabricClient({ url: proxy.url('http'), token: agent.token, userId: agent.id, backoff: { baseMs: 100, maxMs: 500 } });
      clients.push(c);
      const seen: { message: Message; info: MessageInfo }[] = [];
      c.onMessage((message, info) => void seen.push({ message, info }));
      const resyncs: unknown[] = [];
      c.onResync((e) => void resyncs.push(e));
      const reconnects: boolean[] = [];
      c.onConnected((e) => void reconnects.push(e.reconnect));
      await c.connect();
      const posted: Message[] = [];
      for (let i = 0; i < 5; i++) posted.push(await post(node, owner, ch.id, `before ${i}`));
      await expect.poll(() => seen.length, WAIT).toBe(5);

      proxy.drop();
      child.proc.kill('SIGKILL');
      await child.exited;
      await expect.poll(() => c.connected, WAIT).toBe(false);
      child = await start();
      for (let i = 0; i < 5; i++) posted.push(await post(node, owner, ch.id, `after ${i}`));
      proxy.restore();
      await expect.poll(() => reconnects, { timeout: 30_000 }).toEqual([false, true]);
      posted.push(await post(node, owner, ch.id, 'last'));

      await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(posted.map((m) => m.id));
      expect(seen.map((s) => (s.message as Message & { pos: number }).pos)).toEqual(posted.map((_, i) => i + 1));
      expect(seen.map((s) => s.info.source)).toEqual([...Array(5).fill('live'), ...Array(5).fill('replay'), 'live']);
      expect(resyncs).toEqual([]);
    } finally {
      await child.stop();
      await center.close();
      await db.drop();
    }
  }, 90_000);
});

describe('FabricClient and the real node’s session.ended', () => {
  it('stops on token_revoked after a revocation at Center, surfaces it, and refuses to post', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    await createChannel(t, owner.token, { guildId, name: 'rev', xType: 'general', memberUserIds: [agent.id] });
    const c = new FabricClient({ url: t.url, token: agent.token, userId: agent.id, backoff: { baseMs: 50, maxMs: 300 } });
    clients.push(c);
    const ended: SessionEndedEvent[] = [];
    c.onSessionEnded((e) => void ended.push(e));
    await c.connect();

    await t.centerApi.revoke(agent.token);
    await expect.poll(() => c.sessionEnded?.code, WAIT).toBe('token_revoked');
    expect(ended.map((e) => e.code)).toEqual(['token_revoked']);
    await expect.poll(() => c.connected, WAIT).toBe(false);
    await expect(c.connect()).rejects.toBeInstanceOf(SessionEndedError);
    await expect(c.post('any', 'x')).rejects.toMatchObject({ code: 'token_revoked' });
  });
});

describe('FabricClient delivers the wake reason', () => {
  it('passes the per-recipient wakeReason of message.created to onMessage', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [onDuty, other] = members;
    const triage = await createChannel(t, owner.token, { guildId, name: 'tri', xType: 'triage', memberUserIds: [onDuty.id, other.id], wakeUserIds: [onDuty.id] });
    const clientOf = async (u: TestUser) => {
      const c = new FabricClient({ url: t.url, token: u.token, userId: u.id });
      clients.push(c);
      const got: [string, boolean, string | null][] = [];
      c.onMessage((m, info) => void got.push([m.content, info.wakeup, info.wakeReason]));
      await c.connect();
      return got;
    };
    const general = await createChannel(t, owner.token, { guildId, name: 'gen', xType: 'general', memberUserIds: [onDuty.id, other.id] });
    const [dutyGot, otherGot] = [await clientOf(onDuty), await clientOf(other)];
    await post(t, owner, triage.id, 'incident');
    await expect.poll(() => dutyGot, WAIT).toEqual([['incident', true, 'on_duty']]);
    await expect.poll(() => otherGot, WAIT).toEqual([['incident', false, null]]);
    await post(t, owner, general.id, 'hello');
    await expect.poll(() => dutyGot.at(-1), WAIT).toEqual(['hello', true, 'general']);
    await expect.poll(() => otherGot.at(-1), WAIT).toEqual(['hello', true, 'general']);
  });
});
