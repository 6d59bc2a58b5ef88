/**
 * The client SDK's resume, gap filling, resync and session end against the real node
 * (realtime.md "Streams, positions and resume"): no scripted server, real HTTP and socket.io.
 * The SDK reaches the node through a TCP proxy that the test can take away and give back, so
 * that events really happen while the client is away (also across a kill -9 and restart of
 * the node process). The test code never pages REST itself: what the client sees is what the
 * SDK delivered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SessionEndedError } from '../lib/client/index.js';
import { loadConfig, loadDatabaseConfig } from '../lib/config.js';
import { openDatabase } from '../lib/db/index.js';
import type { ChannelMembershipEvent, Message, SessionEndedEvent } from '../lib/realtime/events.js';
import { runLogTrim } from '../lib/realtime/log-trim.js';
import { rooms } from '../lib/realtime/rooms.js';
import { startAllInOne } from '../scripts/processes.js';
import {
  createChannel,
  freePort,
  privateBackends,
  restFixture,
  seedGuild,
  sleep,
  spawnNode,
  startTestNode,
  type ChildRun,
  type RestFixture,
  type TestNode,
  type TestUser,
} from './helpers/harness.js';
import { post as postAs } from './helpers/messages.js';
import { awayableClient, closeClients, failingFetch, loseDelivery, sdkClient, WAIT, type Delivered } from './helpers/sdk.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

/** The default node, with a short token cache so that a revocation is seen within about a second. */
let t: TestNode;
/** A node that keeps only the last 3 events of each stream (and no time rule). */
let short: TestNode;
/** A node that allows 2 client events per socket and 10 s (over 4 it ends the session). */
let strict: TestNode;
const proxies: TcpProxy[] = [];
beforeAll(async () => {
  [t, short, strict] = await Promise.all([
    startTestNode({ env: { FABRIC_BACKEND_GUILD_TOKEN_CACHE_SECONDS: '1' } }),
    startTestNode({ env: { FABRIC_BACKEND_GUILD_EVENT_RETENTION_EVENTS: '3', FABRIC_BACKEND_GUILD_EVENT_RETENTION_HOURS: '0' } }),
    startTestNode({ env: { FABRIC_BACKEND_GUILD_SOCKET_EVENTS_PER_10S: '2' } }),
  ]);
}, 60_000);
afterAll(async () => {
  for (const p of proxies) await p.close();
  await Promise.all([t?.close(), short?.close(), strict?.close()]);
});
afterEach(closeClients);

async function post(node: RestFixture, user: TestUser, channelId: string, content: string) {
  return (await postAs(node, user.token, channelId, content)) as unknown as Message;
}

/**
 * The node loses one delivery to `agent`: its sockets are out of the channel's rooms while a
 * post is sent (the author's `witnessed` deliveries say when it went out). Returns that post.
 */
function loseOneDelivery(owner: TestUser, agent: TestUser, channelId: string, witnessed: readonly Delivered[]) {
  return loseDelivery(
    t.node.realtime.nsp,
    rooms.user(agent.id),
    rooms.ofChannelSubscriber(channelId, agent.id),
    () => post(t, owner, channelId, 'lost'),
    (lost) => witnessed.some((s) => s.message.id === lost.id),
  );
}

describe('FabricClient resumes from its positions against the real node', () => {
  it('gets exactly the messages posted while it was away, in order, once each, marked replayed, without REST paging', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'away', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, resyncs, away, back } = await awayableClient(t.url, agent, (p) => proxies.push(p));
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
    expect(seen.map((s) => s.message.pos)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("joins a channel of its first listing at the node's current position and replays nothing", async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'fresh', xType: 'general', memberUserIds: [agent.id] });
    for (let i = 0; i < 3; i++) await post(t, owner, ch.id, `earlier ${i}`);
    const { c, seen } = sdkClient(t.url, agent);
    await c.connect();
    expect(c.positions()).toEqual({ [ch.id]: 3 });
    const next = await post(t, owner, ch.id, 'next');
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual([next.id]);
    expect(seen[0].message.pos).toBe(4);
    expect(seen[0].info.source).toBe('live');
  });

  it('rejoins from its last position when a gap in its stream does not fill, and gets the missing event as a replay', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'gap', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, resyncs, reconnects } = sdkClient(t.url, agent, { gapTimeoutMs: 300 });
    // The author's client sees every send: once it has a message, the node has sent it.
    const witness = sdkClient(t.url, owner);
    await Promise.all([c.connect(), witness.c.connect()]);
    const first = await post(t, owner, ch.id, 'one');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    const lost = await loseOneDelivery(owner, agent, ch.id, witness.seen);
    const third = await post(t, owner, ch.id, 'three');

    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual([first.id, lost.id, third.id]);
    expect(seen.map((s) => s.message.pos)).toEqual([1, 2, 3]);
    expect(seen.map((s) => s.info.source)).toEqual(['live', 'replay', 'live']);
    // A rejoin on the same connection, not a reconnect; no REST paging.
    expect(reconnects).toEqual([false]);
    expect(resyncs).toEqual([]);
  });

  it('fills a gap on a busy channel within a gap timeout: later events do not push the rejoin back', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'busy', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, reconnects } = sdkClient(t.url, agent, { gapTimeoutMs: 300 });
    const witness = sdkClient(t.url, owner);
    await Promise.all([c.connect(), witness.c.connect()]);
    const first = await post(t, owner, ch.id, 'one');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    const lost = await loseOneDelivery(owner, agent, ch.id, witness.seen);

    // An event every 100 ms, well under gapTimeoutMs, for 3 s (10 gap timeouts).
    const busy: Message[] = [];
    const until = Date.now() + 3000;
    let filledWhileBusy = false;
    while (Date.now() < until) {
      busy.push(await post(t, owner, ch.id, `busy ${busy.length}`));
      await new Promise((r) => setTimeout(r, 100));
      if (seen.some((s) => s.message.id === lost.id)) filledWhileBusy = true;
    }
    expect(filledWhileBusy, 'the missing event was asked for while the channel stayed busy').toBe(true);
    const expected = [first, lost, ...busy].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.message.pos)).toEqual(expected.map((_, i) => i + 1));
    expect(seen[1].info.source).toBe('replay');
    expect(reconnects).toEqual([false]);
  });

  it('keeps at most maxWaitingEvents behind a gap; those not kept come back with the replay that fills it, once each', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'stuck', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen } = sdkClient(t.url, agent, { gapTimeoutMs: 3000, maxWaitingEvents: 3 });
    const witness = sdkClient(t.url, owner);
    await Promise.all([c.connect(), witness.c.connect()]);
    const first = await post(t, owner, ch.id, 'one');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    const lost = await loseOneDelivery(owner, agent, ch.id, witness.seen);
    const behind: Message[] = [];
    for (let i = 0; i < 10; i++) behind.push(await post(t, owner, ch.id, `behind ${i}`));

    const expected = [first, lost, ...behind].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.message.pos)).toEqual(expected.map((_, i) => i + 1));
    // Three waited behind the gap as they arrived; the seven after them were not kept.
    expect(seen.map((s) => s.info.source)).toEqual(['live', 'replay', 'live', 'live', 'live', ...Array(7).fill('replay')]);
  });

  it('is told to resync when its position fell out of the retention window, pages REST itself, and sees every message once', async () => {
    const { owner, members, guildId } = await seedGuild(short, 1);
    const [agent] = members;
    const ch = await createChannel(short, owner.token, { guildId, name: 'retained', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, resyncs, away, back } = await awayableClient(short.url, agent, (p) => proxies.push(p));
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

  it('pages on after a resync page fails: every message once, none skipped, the failure reported', async () => {
    const { owner, members, guildId } = await seedGuild(short, 1);
    const [agent] = members;
    const ch = await createChannel(short, owner.token, { guildId, name: 'resync-fails', xType: 'general', memberUserIds: [agent.id] });
    // The first resync page is answered 503 (the API process lost its database for a moment).
    const rest = failingFetch((url) => url.pathname.endsWith('/messages') && url.searchParams.has('after'));
    const { c, seen, resyncs, away, back } = await awayableClient(short.url, agent, (p) => proxies.push(p), { fetch: rest.fetch });
    const errors: string[] = [];
    c.onError((err) => void errors.push((err as Error & { code?: string }).code ?? err.message));
    await c.connect();
    const first = await post(short, owner, ch.id, 'before');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    await away();
    const during: Message[] = [];
    for (let i = 0; i < 8; i++) during.push(await post(short, owner, ch.id, `during ${i}`));
    expect((await runLogTrim(short.node.ctx)).deleted).toBeGreaterThan(0);
    await back();
    await expect.poll(() => resyncs, WAIT).toEqual([{ channelId: ch.id, messages: 8 }]);
    expect(rest.failed()).toBe(1);
    expect(errors).toContain('db_unavailable');
    const last = await post(short, owner, ch.id, 'after');

    const expected = [first, ...during, last].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.info.source)).toEqual(['live', ...during.map(() => 'resync'), 'live']);
  });

  it('fills a gap that fell out of the retention window through REST, also when the first page fails', async () => {
    const { owner, members, guildId } = await seedGuild(short, 1);
    const [agent] = members;
    const ch = await createChannel(short, owner.token, { guildId, name: 'gap-resync', xType: 'general', memberUserIds: [agent.id] });
    const rest = failingFetch((url) => url.pathname.endsWith('/messages') && url.searchParams.has('after'));
    const { c, seen, resyncs, reconnects } = sdkClient(short.url, agent, { gapTimeoutMs: 2000, fetch: rest.fetch });
    const witness = sdkClient(short.url, owner);
    await Promise.all([c.connect(), witness.c.connect()]);
    const first = await post(short, owner, ch.id, 'one');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    const lost = await loseDelivery(
      short.node.realtime.nsp,
      rooms.user(agent.id),
      rooms.ofChannelSubscriber(ch.id, agent.id),
      () => post(short, owner, ch.id, 'lost'),
      (m) => witness.seen.some((s) => s.message.id === m.id),
    );
    const behind: Message[] = [];
    for (let i = 0; i < 4; i++) behind.push(await post(short, owner, ch.id, `behind ${i}`));
    // Before the gap deadline: the node keeps the last 3 events, the lost one is gone.
    expect((await runLogTrim(short.node.ctx)).deleted).toBeGreaterThan(0);

    const expected = [first, lost, ...behind].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.info.source)).toEqual(['live', ...Array(5).fill('resync')]);
    expect(rest.failed()).toBe(1);
    expect(resyncs).toEqual([{ channelId: ch.id, messages: 5 }]);
    expect(reconnects).toEqual([false]);
  });

  it('re-reads the turn after a resync on the same connection, and tells the agent it is its turn when the lost events woke it', async () => {
    const { owner, members, guildId } = await seedGuild(short, 2);
    const [agent, other] = members;
    const ch = await createChannel(short, owner.token, { guildId, name: 'gap-turn', xType: 'discuss', memberUserIds: [agent.id, other.id] });
    const { c, seen, reconnects } = sdkClient(short.url, agent, { gapTimeoutMs: 2000 });
    const turns: { reason: string; wakeup: boolean; speakerId: string | null }[] = [];
    c.onTurn((turn, info) => void turns.push({ reason: info.reason, wakeup: info.wakeup, speakerId: turn.speakerId }));
    const witness = sdkClient(short.url, owner);
    const witnessTurns: string[] = [];
    witness.c.onTurn((turn) => void witnessTurns.push(turn.updatedAt));
    await Promise.all([c.connect(), witness.c.connect()]);

    // The owner opens the round: the agent is the speaker, woken by the message and the turn,
    // both lost on their way to it.
    const topic = await loseDelivery(
      short.node.realtime.nsp,
      rooms.user(agent.id),
      rooms.ofChannelSubscriber(ch.id, agent.id),
      () => post(short, owner, ch.id, 'topic'),
      (m) => witness.seen.some((s) => s.message.id === m.id) && witnessTurns.length > 0,
    );
    // Three later events of the channel, and the node keeps only those three.
    for (let i = 0; i < 3; i++) {
      expect((await short.api('PATCH', `/api/channels/${ch.id}`, { token: owner.token, body: { topic: `topic ${i}` } })).status).toBe(200);
    }
    expect((await runLogTrim(short.node.ctx)).deleted).toBeGreaterThan(0);

    await expect.poll(() => seen.map((s) => [s.message.id, s.info.source, s.info.wakeup]), WAIT).toEqual([[topic.id, 'resync', false]]);
    await expect.poll(() => turns, WAIT).toEqual([{ reason: 'resync', wakeup: true, speakerId: agent.id }]);
    expect(reconnects).toEqual([false]);
  });

  it('replays channel.joined and channel.left of the user stream missed while away, and follows them', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const { c, seen, away, back } = await awayableClient(t.url, agent, (p) => proxies.push(p));
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
    const backends = await privateBackends();
    const port = await freePort();
    const env = backends.env({ FABRIC_BACKEND_GUILD_PORT: String(port), FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' });
    const start = async () => {
      const child = spawnNode('scripts/main.ts', env);
      await child.waitForLog('guild node listening', 60_000);
      return child;
    };
    let child: ChildRun = await start();
    try {
      const node = restFixture(`http://127.0.0.1:${port}`, backends.center);
      const { owner, members, guildId } = await seedGuild(node, 1);
      const [agent] = members;
      const ch = await createChannel(node, owner.token, { guildId, name: 'restart', xType: 'general', memberUserIds: [agent.id] });
      // The client comes through a proxy, so that it is surely away while the restarted node takes posts.
      const proxy = await startTcpProxy({ host: '127.0.0.1', port });
      proxies.push(proxy);
      const { c, seen, resyncs, reconnects } = sdkClient(proxy.url('http'), agent, { backoff: { baseMs: 100, maxMs: 500 } });
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
      expect(seen.map((s) => s.message.pos)).toEqual(posted.map((_, i) => i + 1));
      expect(seen.map((s) => s.info.source)).toEqual([...Array(5).fill('live'), ...Array(5).fill('replay'), 'live']);
      expect(resyncs).toEqual([]);
    } finally {
      await child.stop();
      await backends.close();
    }
  }, 90_000);
});

describe('FabricClient and a node whose database was restored from a backup', () => {
  it('follows a channel again whose position went back (since refused as too high), caught up through REST, nothing missed; the user stream goes on from the node', async () => {
    const backends = await privateBackends();
    const port = await freePort();
    const config = loadConfig(backends.env({ FABRIC_BACKEND_GUILD_PORT: String(port) }));
    let node = await startAllInOne(config, { heartbeat: false });
    try {
      const fixture = restFixture(`http://127.0.0.1:${port}`, backends.center);
      const { owner, members, guildId } = await seedGuild(fixture, 1);
      const [agent] = members;
      const ch = await createChannel(fixture, owner.token, { guildId, name: 'restored', xType: 'general', memberUserIds: [agent.id] });
      const { c, seen, resyncs, reconnects, away, back } = await awayableClient(`http://127.0.0.1:${port}`, agent, (p) => proxies.push(p));
      const errors: string[] = [];
      c.onError((e) => void errors.push((e as Error & { code?: string }).code ?? e.message));
      const joined: string[] = [];
      c.onChannelJoined((e) => void joined.push(e.channelId));
      await c.connect();
      for (const content of ['kept', 'lost 1', 'lost 2']) await post(fixture, owner, ch.id, content);
      await expect.poll(() => seen.length, WAIT).toBe(3);
      const kept = seen[0].message;
      // A membership after the backup: the user stream's position goes back too.
      const lostJoin = await createChannel(fixture, owner.token, { guildId, name: 'lost-join', xType: 'general', memberUserIds: [agent.id] });
      await expect.poll(() => joined, WAIT).toEqual([lostJoin.id]);

      // The backup was taken right after 'kept': the node comes back without what followed.
      await away();
      await node.close();
      const handle = await openDatabase(loadDatabaseConfig(backends.db.env));
      try {
        await handle.db.deleteFrom('channel_events').where('channel_id', '=', ch.id).where('pos', '>', kept.pos!).execute();
        await handle.db.deleteFrom('messages').where('channel_id', '=', ch.id).where('seq', '>', kept.seq).execute();
        await handle.db.updateTable('channels').set({ last_pos: kept.pos!, last_seq: kept.seq }).where('id', '=', ch.id).execute();
        for (const table of ['channel_events', 'channel_members'] as const) await handle.db.deleteFrom(table).where('channel_id', '=', lostJoin.id).execute();
        await handle.db.deleteFrom('channels').where('id', '=', lostJoin.id).execute();
        const userPos = Number((await handle.db.selectFrom('user_streams').select('last_pos').where('user_id', '=', agent.id).executeTakeFirstOrThrow()).last_pos);
        await handle.db.deleteFrom('user_events').where('user_id', '=', agent.id).where('pos', '=', userPos).execute();
        await handle.db
          .updateTable('user_streams')
          .set({ last_pos: userPos - 1 })
          .where('user_id', '=', agent.id)
          .execute();
      } finally {
        await handle.destroy();
      }
      node = await startAllInOne(config, { heartbeat: false });
      // Stored under the seq and position 'lost 1' had.
      await post(fixture, owner, ch.id, 'after the restore');
      await back();
      expect(reconnects).toEqual([false, true]);
      await post(fixture, owner, ch.id, 'live');
      await expect
        .poll(() => seen.map((d) => [d.message.content, d.info.source]), WAIT)
        .toEqual([
          ['kept', 'live'],
          ['lost 1', 'live'],
          ['lost 2', 'live'],
          ['after the restore', 'resync'],
          ['live', 'live'],
        ]);
      expect(resyncs).toEqual([{ channelId: ch.id, messages: 1 }]);
      expect(c.positions()).toEqual({ [ch.id]: kept.pos! + 2 });

      // The user stream goes on from the node's position: a membership now is followed.
      const later = await createChannel(fixture, owner.token, { guildId, name: 'later', xType: 'general', memberUserIds: [agent.id] });
      await expect.poll(() => joined, WAIT).toEqual([lostJoin.id, later.id]);
      await post(fixture, owner, later.id, 'in the later channel');
      await expect.poll(() => seen.at(-1)?.message.content, WAIT).toBe('in the later channel');
      // The channel's join and the user stream's resume were refused once each (other reports: the node restarting).
      expect(errors.filter((e) => e === 'bad_request')).toEqual(['bad_request', 'bad_request']);
    } finally {
      await node.close();
      await backends.close();
    }
  }, 60_000);
});

describe('FabricClient and the real node’s session.ended', () => {
  it('stops on token_revoked after a revocation at Center, surfaces it, and refuses to post', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'rev', xType: 'general', memberUserIds: [agent.id] });
    const { c } = sdkClient(t.url, agent);
    const ended: SessionEndedEvent[] = [];
    c.onSessionEnded((e) => void ended.push(e));
    await c.connect();

    await t.centerApi.revoke(agent.token);
    await expect.poll(() => c.sessionEnded?.code, WAIT).toBe('token_revoked');
    expect(ended.map((e) => e.code)).toEqual(['token_revoked']);
    await expect.poll(() => c.connected, WAIT).toBe(false);
    await expect(c.connect()).rejects.toBeInstanceOf(SessionEndedError);
    await expect(c.post('any', 'x')).rejects.toMatchObject({ code: 'token_revoked' });
    // Every further call (realtime-client.md "Session end"), not just posting.
    await expect(c.join(ch.id)).rejects.toSatisfy((e) => e instanceof SessionEndedError && e.code === 'token_revoked');
    await expect(c.recentMessages(ch.id)).rejects.toSatisfy((e) => e instanceof SessionEndedError && e.code === 'token_revoked');
  });
});

describe('FabricClient with a refreshed token', () => {
  it('switches to a new token without a session end: what is posted across the switch comes once each, in order', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'refresh', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, reconnects } = sdkClient(t.url, agent);
    const ended: string[] = [];
    c.onSessionEnded((e) => void ended.push(e.code));
    await c.connect();
    const posted = [await post(t, owner, ch.id, 'before')];
    await expect.poll(() => seen.length, WAIT).toBe(1);

    const fresh = await t.centerApi.token(agent.id);
    c.setToken(fresh);
    for (let i = 0; i < 3; i++) posted.push(await post(t, owner, ch.id, `during ${i}`));
    await expect.poll(() => reconnects, WAIT).toEqual([false, true]);
    // The old token goes away; the client no longer uses it, over REST or the socket.
    await t.centerApi.revoke(agent.token);
    await sleep(1500);
    posted.push(await post(t, owner, ch.id, 'after'));
    expect((await c.recentMessages(ch.id, 10)).map((m) => m.id)).toEqual(posted.map((m) => m.id));

    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(posted.map((m) => m.id));
    expect(seen.map((s) => s.message.pos)).toEqual(posted.map((_, i) => i + 1));
    expect(ended).toEqual([]);
    expect(c.sessionEnded).toBeNull();
    expect(c.connected).toBe(true);
  });
});

describe('FabricClient and the real node’s flood limit', () => {
  it('comes back after session.ended rate_limited, once its pause is over, and goes on delivering', async () => {
    const { owner, members, guildId } = await seedGuild(strict, 1);
    const [agent] = members;
    const ch = await createChannel(strict, owner.token, { guildId, name: 'flood', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, reconnects } = sdkClient(strict.url, agent, { rateLimitedPauseMs: 500, ackTimeoutMs: 1000 });
    const ended: string[] = [];
    c.onSessionEnded((e) => void ended.push(e.code));
    const refused: string[] = [];
    c.onError((err) => void refused.push((err as Error & { code?: string }).code ?? err.message));
    await c.connect();

    // Every join is a client event: the connect's join and one more are within the limit of 2,
    // the next two are refused (rate_limited acks), the fifth ends the session.
    for (let i = 0; i < 4 && ended.length === 0; i++) await c.join(ch.id);
    await expect.poll(() => ended, WAIT).toEqual(['rate_limited']);
    expect(refused).toEqual(['rate_limited', 'rate_limited']);
    await expect.poll(() => reconnects, WAIT).toEqual([false, true]);
    expect(c.sessionEnded).toBeNull();

    const m = await post(strict, owner, ch.id, 'after the pause');
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual([m.id]);
  });
});

describe('FabricClient delivers the wake reason', () => {
  it('passes the per-recipient wakeReason of message.created to onMessage', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [onDuty, other] = members;
    const triage = await createChannel(t, owner.token, { guildId, name: 'tri', xType: 'triage', memberUserIds: [onDuty.id, other.id], wakeUserIds: [onDuty.id] });
    const clientOf = async (u: TestUser) => {
      const { c } = sdkClient(t.url, u);
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
