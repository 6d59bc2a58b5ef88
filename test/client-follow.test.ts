/**
 * How the client SDK follows channels against the real node: joins the node refuses for a
 * while, channels it is added to (live, while away, or while its first listing is read) and
 * their first messages, leaves that overtake a join in flight, and its user stream when a
 * user event or a resume_user is lost. Real HTTP and socket.io; what a client sees is what
 * the SDK delivered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelMembershipEvent } from '../lib/realtime/events.js';
import { runLogTrim } from '../lib/realtime/log-trim.js';
import { rooms } from '../lib/realtime/rooms.js';
import { createChannel, seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { post } from './helpers/messages.js';
import { awayableClient, closeClients, holdingFetch, loseDelivery, sdkClient, sdkSubscriber, WAIT, type Delivered } from './helpers/sdk.js';
import type { TcpProxy } from './helpers/tcp-proxy.js';

/** The default node. */
let t: TestNode;
/** A node that allows 3 client events per socket and 10 s (over 3 a join is refused with rate_limited). */
let strict: TestNode;
/** A node that keeps only the last 3 events of each stream (and no time rule). */
let short: TestNode;
const proxies: TcpProxy[] = [];
beforeAll(async () => {
  [t, strict, short] = await Promise.all([
    startTestNode(),
    startTestNode({ env: { FABRIC_BACKEND_GUILD_SOCKET_EVENTS_PER_10S: '3' } }),
    startTestNode({ env: { FABRIC_BACKEND_GUILD_EVENT_RETENTION_EVENTS: '3', FABRIC_BACKEND_GUILD_EVENT_RETENTION_HOURS: '0' } }),
  ]);
}, 60_000);
afterAll(async () => {
  for (const p of proxies) await p.close();
  await Promise.all([t?.close(), strict?.close(), short?.close()]);
});
afterEach(closeClients);

/** What a client was delivered in one channel: content, wake and source, in delivery order. */
const inChannel = (seen: Delivered[], channelId: string) =>
  seen.filter((d) => d.message.channelId === channelId).map((d) => ({ content: d.message.content, wakeup: d.info.wakeup, source: d.info.source }));
const positionsIn = (seen: Delivered[], channelId: string) => seen.filter((d) => d.message.channelId === channelId).map((d) => d.message.pos);

describe('FabricClient: a join the node refuses for a while', () => {
  it('is tried again after rate_limited, once the window is over, and the channel is followed', async () => {
    const { owner, members, guildId } = await seedGuild(strict, 1);
    const [agent] = members;
    const chans = [];
    for (let i = 0; i < 4; i++) chans.push(await createChannel(strict, owner.token, { guildId, name: `c${i}`, xType: 'general', memberUserIds: [agent.id] }));
    const s = sdkClient(strict.url, agent);
    const errors: string[] = [];
    s.c.onError((e) => void errors.push((e as Error & { code?: string }).code ?? e.message));
    await s.c.connect();
    expect(errors).toEqual(['rate_limited']);
    // Four joins against a budget of three: one is refused (reported), and sent again after the
    // window, from the position the listing gave: what was posted meanwhile is replayed.
    for (const ch of chans) await post(strict, owner.token, ch.id, `to ${ch.name}`);
    await expect.poll(() => s.seen.map((d) => d.message.content).sort(), WAIT).toEqual(chans.map((c) => `to ${c.name}`));
    expect(s.seen.filter((d) => d.info.source === 'replay')).toHaveLength(1);
    expect(s.c.connected).toBe(true);
    expect(s.reconnects).toEqual([false]);
  }, 40_000);
});

describe('FabricClient: a leave overtakes a follow in flight', () => {
  /** The agent's sockets that the node has in the channel's room. */
  async function agentSocketsInRoom(channelId: string, userId: string) {
    const sockets = await t.node.realtime.nsp.in(rooms.channel(channelId)).fetchSockets();
    return sockets.filter((s) => s.rooms.has(rooms.user(userId))).length;
  }

  it('join(x) then leave(x) at once: the channel is not followed and nothing of it is delivered', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'gone', xType: 'general', memberUserIds: [agent.id] });
    const s = await sdkSubscriber(t.url, agent, { autoJoin: false });
    const errors: Error[] = [];
    s.c.onError((e) => void errors.push(e));
    const joining = s.c.join(ch.id);
    s.c.leave(ch.id);
    await joining;
    expect(s.c.positions()).toEqual({});
    const witness = await sdkSubscriber(t.url, owner);
    const m = await post(t, owner.token, ch.id, 'after leave');
    await expect.poll(() => witness.seen.map((d) => d.message.id), WAIT).toContain(m.id);
    await sleep(300);
    expect(s.seen).toEqual([]);
    expect(await agentSocketsInRoom(ch.id, agent.id)).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a leave while join_channel waits for its ack: the socket is taken out of the room again and nothing is delivered', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'gone-later', xType: 'general', memberUserIds: [agent.id] });
    const s = await sdkSubscriber(t.url, agent, { autoJoin: false });
    const joining = s.c.join(ch.id);
    // The channel's state exists once the join_channel is on its way (sent in the same tick).
    while (!(ch.id in s.c.positions())) await new Promise((r) => setImmediate(r));
    s.c.leave(ch.id);
    await joining;
    expect(s.c.positions()).toEqual({});
    const witness = await sdkSubscriber(t.url, owner);
    await expect.poll(() => agentSocketsInRoom(ch.id, agent.id), WAIT).toBe(0);
    const m = await post(t, owner.token, ch.id, 'after leave');
    await expect.poll(() => witness.seen.map((d) => d.message.id), WAIT).toContain(m.id);
    await sleep(300);
    expect(s.seen).toEqual([]);
  });

  it('channel.joined followed at once by channel.left: the channel ends up not followed, without an error', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'brief', xType: 'general', isPublic: false });
    const s = await sdkSubscriber(t.url, agent);
    const errors: Error[] = [];
    s.c.onError((e) => void errors.push(e));
    const left: string[] = [];
    s.c.onChannelLeft((e) => void left.push(e.channelId));
    expect((await t.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [agent.id] } })).status).toBe(200);
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${agent.id}`, { token: owner.token })).status).toBe(204);
    await expect.poll(() => left, WAIT).toEqual([ch.id]);
    await sleep(500);
    expect(s.c.positions()).toEqual({});
    await post(t, owner.token, ch.id, 'after removal');
    await sleep(300);
    expect(s.seen).toEqual([]);
    expect(errors).toEqual([]);
    expect(await agentSocketsInRoom(ch.id, agent.id)).toBe(0);
  });
});

describe('FabricClient: a channel the user becomes a member of while the client runs', () => {
  it('added while connected, a message posted at once: delivered once, with its wakeup', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'added', xType: 'general' });
    const s = await sdkSubscriber(t.url, agent);
    const joined: string[] = [];
    s.c.onChannelJoined((e) => void joined.push(e.channelId));
    expect((await t.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [agent.id] } })).status).toBe(200);
    await post(t, owner.token, ch.id, 'hello agent');
    await expect.poll(() => inChannel(s.seen, ch.id), WAIT).toEqual([{ content: 'hello agent', wakeup: true, source: 'replay' }]);
    await post(t, owner.token, ch.id, 'next');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => d.content), WAIT).toEqual(['hello agent', 'next']);
    expect(joined).toEqual([ch.id]);
    expect(s.c.positions()[ch.id]).toBe(positionsIn(s.seen, ch.id).at(-1));
  });

  it('a channel created with the agent as a member: its first message (the task) is delivered with wakeup', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const s = await sdkSubscriber(t.url, agent);
    const ch = await createChannel(t, owner.token, { guildId, name: 'task', xType: 'general', memberUserIds: [agent.id] });
    await post(t, owner.token, ch.id, 'first task');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => [d.content, d.wakeup]), WAIT).toEqual([['first task', true]]);
    await sleep(300);
    expect(inChannel(s.seen, ch.id)).toHaveLength(1);
  });

  it('added to a channel with a history: the earlier messages come first as context (wakeup false), every position once and in order', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'history', xType: 'general' });
    for (let i = 0; i < 5; i++) await post(t, owner.token, ch.id, `earlier ${i}`);
    const s = await sdkSubscriber(t.url, agent);
    expect((await t.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [agent.id] } })).status).toBe(200);
    await post(t, owner.token, ch.id, 'task');
    await expect.poll(() => inChannel(s.seen, ch.id).at(-1)?.content, WAIT).toBe('task');
    const got = inChannel(s.seen, ch.id);
    expect(got.map((d) => [d.content, d.wakeup])).toEqual([...[0, 1, 2, 3, 4].map((i) => [`earlier ${i}`, false]), ['task', true]]);
    expect(got.slice(0, 5).every((d) => d.source === 'replay')).toBe(true);
    const pos = positionsIn(s.seen, ch.id);
    expect(pos).toEqual([...pos].sort((a, b) => a! - b!));
    expect(new Set(pos).size).toBe(pos.length);
  });

  it('joinBacklogEvents bounds how far back the first join of such a channel goes', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'bounded', xType: 'general' });
    for (let i = 0; i < 8; i++) await post(t, owner.token, ch.id, `earlier ${i}`);
    const s = await sdkSubscriber(t.url, agent, { joinBacklogEvents: 2 });
    expect((await t.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [agent.id] } })).status).toBe(200);
    await expect.poll(() => s.c.positions(), WAIT).toHaveProperty(ch.id);
    await post(t, owner.token, ch.id, 'task');
    await expect.poll(() => inChannel(s.seen, ch.id).at(-1)?.content, WAIT).toBe('task');
    // The channel's position was read after the add: two events back, not the whole history.
    const got = inChannel(s.seen, ch.id);
    expect(got.length).toBeLessThanOrEqual(3);
    expect(got.at(-1)).toEqual({ content: 'task', wakeup: true, source: 'live' });
  });

  it('removed and added back: what was delivered before the removal is not delivered again', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'again', xType: 'general', isPublic: false, memberUserIds: [agent.id] });
    const s = await sdkSubscriber(t.url, agent);
    const left: string[] = [];
    s.c.onChannelLeft((e) => void left.push(e.channelId));
    await post(t, owner.token, ch.id, 'before');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => d.content), WAIT).toEqual(['before']);
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${agent.id}`, { token: owner.token })).status).toBe(204);
    await expect.poll(() => left, WAIT).toEqual([ch.id]);
    await post(t, owner.token, ch.id, 'while out');
    expect((await t.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [agent.id] } })).status).toBe(200);
    await post(t, owner.token, ch.id, 'back in');
    await expect.poll(() => inChannel(s.seen, ch.id).at(-1)?.content, WAIT).toBe('back in');
    expect(inChannel(s.seen, ch.id).map((d) => [d.content, d.wakeup])).toEqual([
      ['before', true],
      ['while out', false],
      ['back in', true],
    ]);
  });

  it('added while away (its user stream resumed): the task posted meanwhile is delivered once after the reconnect, with its wakeup', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const s = await awayableClient(t.url, agent, (p) => proxies.push(p));
    await s.c.connect();
    // A first user event, so that the client resumes its user stream on reconnect.
    const earlier = await createChannel(t, owner.token, { guildId, name: 'earlier', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => s.c.positions(), WAIT).toHaveProperty(earlier.id);
    await s.away();
    const ch = await createChannel(t, owner.token, { guildId, name: 'task', xType: 'general', memberUserIds: [agent.id] });
    await post(t, owner.token, ch.id, 'task while away');
    await s.back();
    await expect.poll(() => inChannel(s.seen, ch.id), WAIT).toEqual([{ content: 'task while away', wakeup: true, source: 'replay' }]);
    await post(t, owner.token, ch.id, 'after');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => d.content), WAIT).toEqual(['task while away', 'after']);
  });

  it('added while away, before any user event (found in the reconnect listing): the task posted meanwhile is delivered once', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const s = await awayableClient(t.url, agent, (p) => proxies.push(p));
    await s.c.connect();
    await s.away();
    const ch = await createChannel(t, owner.token, { guildId, name: 'listed', xType: 'general', memberUserIds: [agent.id] });
    await post(t, owner.token, ch.id, 'task while away');
    await s.back();
    await expect.poll(() => inChannel(s.seen, ch.id), WAIT).toEqual([{ content: 'task while away', wakeup: true, source: 'replay' }]);
    await sleep(300);
    expect(inChannel(s.seen, ch.id)).toHaveLength(1);
  });

  it('when the backlog is no longer retained (resync): REST pages from joinBacklogEvents messages back, not the whole history', async () => {
    const { owner, members, guildId } = await seedGuild(short, 1);
    const [agent] = members;
    const ch = await createChannel(short, owner.token, { guildId, name: 'long', xType: 'general' });
    for (let i = 0; i < 10; i++) await post(short, owner.token, ch.id, `earlier ${i}`);
    // The node's trim (the job's own function) drops all but the last 3 events.
    expect((await runLogTrim(short.node.ctx)).deleted).toBeGreaterThan(0);
    const s = await sdkSubscriber(short.url, agent, { joinBacklogEvents: 4 });
    expect((await short.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [agent.id] } })).status).toBe(200);
    // Only the last 3 events are retained: 4 back is a resync, paged through REST from seq 10 - 4.
    await expect.poll(() => s.resyncs, WAIT).toEqual([{ channelId: ch.id, messages: 4 }]);
    expect(inChannel(s.seen, ch.id)).toEqual([6, 7, 8, 9].map((i) => ({ content: `earlier ${i}`, wakeup: false, source: 'resync' })));
    await post(short, owner.token, ch.id, 'task');
    await expect.poll(() => inChannel(s.seen, ch.id).at(-1), WAIT).toEqual({ content: 'task', wakeup: true, source: 'live' });
    expect(inChannel(s.seen, ch.id)).toHaveLength(5);
  });
});

describe('FabricClient: a channel the user becomes a member of while its first listing is read', () => {
  const isListing = (u: URL) => u.pathname === '/api/channels';
  const isChannelRead = (u: URL) => /^\/api\/channels\/[^/]+$/.test(u.pathname);

  it('listed with the task already posted, its channel.joined handled while the listing was read: the task is delivered once, with its wakeup', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const http = holdingFetch();
    const listing = http.hold(isListing, 'request');
    const s = sdkClient(t.url, agent, { fetch: http.fetch });
    const connecting = s.c.connect();
    await expect.poll(() => listing.caught(), WAIT).toBe(true);
    // The client's read after channel.joined is answered only once the next message was delivered.
    const read = http.hold(isChannelRead, 'request');
    const ch = await createChannel(t, owner.token, { guildId, name: 'racing', xType: 'general', memberUserIds: [agent.id] });
    await post(t, owner.token, ch.id, 'task');
    await expect.poll(() => read.caught(), WAIT).toBe(true);
    listing.release();
    await connecting;
    await post(t, owner.token, ch.id, 'next');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => d.content), WAIT).toContain('next');
    read.release();
    await sleep(300);
    expect(inChannel(s.seen, ch.id)).toEqual([
      { content: 'task', wakeup: true, source: 'replay' },
      { content: 'next', wakeup: true, source: 'live' },
    ]);
  });

  it('listed with the task already posted, its channel.joined lost and fetched again after the listing: the task is delivered once, with its wakeup', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const http = holdingFetch();
    const listing = http.hold(isListing, 'request');
    const s = sdkClient(t.url, agent, { fetch: http.fetch, gapTimeoutMs: 300 });
    const joined: string[] = [];
    s.c.onChannelJoined((e) => void joined.push(e.channelId));
    const connecting = s.c.connect();
    await expect.poll(() => listing.caught(), WAIT).toBe(true);
    // A first user event, so that the client knows where its user stream stands.
    const one = await createChannel(t, owner.token, { guildId, name: 'one', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => joined, WAIT).toEqual([one.id]);
    const nsp = t.node.realtime.nsp;
    const clientSockets = (await nsp.in(rooms.user(agent.id)).fetchSockets()).map((socket) => socket.id);
    const witness = await t.socket(agent.token);
    const witnessed: string[] = [];
    witness.on('channel.joined', (e: ChannelMembershipEvent) => void witnessed.push(e.channelId));
    const two = await loseDelivery(
      nsp,
      clientSockets,
      [rooms.user(agent.id)],
      () => createChannel(t, owner.token, { guildId, name: 'two', xType: 'general', memberUserIds: [agent.id] }),
      (ch) => witnessed.includes(ch.id),
    );
    await post(t, owner.token, two.id, 'task');
    listing.release();
    await connecting;
    // Listed after the task; the next user event shows the gap, and its channel.joined comes back.
    expect(s.c.positions()).toHaveProperty(two.id);
    const three = await createChannel(t, owner.token, { guildId, name: 'three', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => joined, WAIT).toEqual([one.id, two.id, three.id]);
    await expect.poll(() => inChannel(s.seen, two.id), WAIT).toEqual([{ content: 'task', wakeup: true, source: 'replay' }]);
    await post(t, owner.token, two.id, 'next');
    await expect.poll(() => inChannel(s.seen, two.id).map((d) => d.content), WAIT).toEqual(['task', 'next']);
  });

  it('not in a listing read before the membership but answered after its channel.joined was followed: the channel stays followed', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const http = holdingFetch();
    const listing = http.hold(isListing, 'response');
    const s = sdkClient(t.url, agent, { fetch: http.fetch });
    const connecting = s.c.connect();
    await expect.poll(() => listing.caught(), WAIT).toBe(true);
    const ch = await createChannel(t, owner.token, { guildId, name: 'late-listing', xType: 'general', memberUserIds: [agent.id] });
    await post(t, owner.token, ch.id, 'task');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => d.content), WAIT).toEqual(['task']);
    listing.release();
    await connecting;
    await post(t, owner.token, ch.id, 'next');
    await expect.poll(() => inChannel(s.seen, ch.id).map((d) => d.content), WAIT).toEqual(['task', 'next']);
    expect(s.c.positions()).toHaveProperty(ch.id);
  });

  it('listed as a member by a listing read before a removal whose channel.left came first: the channel is not followed', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'removed', xType: 'general', isPublic: true, memberUserIds: [agent.id] });
    const http = holdingFetch();
    const listing = http.hold(isListing, 'response');
    const s = sdkClient(t.url, agent, { fetch: http.fetch });
    const left: string[] = [];
    s.c.onChannelLeft((e) => void left.push(e.channelId));
    const connecting = s.c.connect();
    await expect.poll(() => listing.caught(), WAIT).toBe(true);
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${agent.id}`, { token: owner.token })).status).toBe(204);
    await expect.poll(() => left, WAIT).toEqual([ch.id]);
    listing.release();
    await connecting;
    // A public channel: the node would let the agent follow it as a reader.
    const witness = await sdkSubscriber(t.url, owner);
    const m = await post(t, owner.token, ch.id, 'after removal');
    await expect.poll(() => witness.seen.map((d) => d.message.id), WAIT).toContain(m.id);
    await sleep(300);
    expect(s.seen).toEqual([]);
    expect(s.c.positions()).toEqual({});
  });
});

describe('FabricClient: the user stream', () => {
  const joinedIn = (events: ChannelMembershipEvent[]) => events.map((e) => e.channelId);

  it('a channel.joined lost in delivery is fetched again once gapTimeoutMs is over: the user events behind it follow, every channel is followed', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const s = sdkClient(t.url, agent, { gapTimeoutMs: 300 });
    const joined: ChannelMembershipEvent[] = [];
    s.c.onChannelJoined((e) => void joined.push(e));
    await s.c.connect();
    const one = await createChannel(t, owner.token, { guildId, name: 'one', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => joinedIn(joined), WAIT).toEqual([one.id]);

    const nsp = t.node.realtime.nsp;
    const clientSockets = (await nsp.in(rooms.user(agent.id)).fetchSockets()).map((socket) => socket.id);
    // Another socket of the agent sees what the node sends to the user.
    const witness = await t.socket(agent.token);
    const witnessed: string[] = [];
    witness.on('channel.joined', (e: ChannelMembershipEvent) => void witnessed.push(e.channelId));
    const two = await loseDelivery(
      nsp,
      clientSockets,
      [rooms.user(agent.id)],
      () => createChannel(t, owner.token, { guildId, name: 'two', xType: 'general', memberUserIds: [agent.id] }),
      (ch) => witnessed.includes(ch.id),
    );
    const three = await createChannel(t, owner.token, { guildId, name: 'three', xType: 'general', memberUserIds: [agent.id] });

    await expect.poll(() => joinedIn(joined), WAIT).toEqual([one.id, two.id, three.id]);
    const first = joined[0].pos!;
    expect(joined.map((e) => e.pos)).toEqual([first, first + 1, first + 2]);
    await expect.poll(() => Object.keys(s.c.positions()).sort(), WAIT).toEqual([one.id, two.id, three.id].sort());
    await post(t, owner.token, two.id, 'in two');
    await expect.poll(() => inChannel(s.seen, two.id).map((d) => d.content), WAIT).toEqual(['in two']);
    // Fetched again by a resume on a new connection (the node replays to a resume only what preceded its connection).
    expect(s.reconnects).toEqual([false, true]);
  });

  it('a resume_user that gets no ack is sent again with backoff: the channel.joined missed while away is replayed', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const s = await awayableClient(t.url, agent, (p) => proxies.push(p), { ackTimeoutMs: 500 });
    const joined: ChannelMembershipEvent[] = [];
    s.c.onChannelJoined((e) => void joined.push(e));
    await s.c.connect();
    const one = await createChannel(t, owner.token, { guildId, name: 'one', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => joinedIn(joined), WAIT).toEqual([one.id]);

    await s.away();
    const two = await createChannel(t, owner.token, { guildId, name: 'two', xType: 'general', memberUserIds: [agent.id] });
    // The node loses the first resume_user of the agent's next socket: it is never answered.
    const nsp = t.node.realtime.nsp;
    let resumes = 0;
    const dropFirstResume: Parameters<typeof nsp.on<'connection'>>[1] = (socket) => {
      if (socket.data.principal.kind !== 'user' || socket.data.principal.userId !== agent.id) return;
      socket.use((packet, next) => {
        if (packet[0] !== 'resume_user' || ++resumes > 1) next();
      });
    };
    nsp.on('connection', dropFirstResume);
    try {
      await s.back();
      await expect.poll(() => joinedIn(joined), WAIT).toEqual([one.id, two.id]);
    } finally {
      nsp.off('connection', dropFirstResume);
    }
    expect(resumes).toBe(2);
    expect(joined[1]).toMatchObject({ replayed: true });
  });
});

describe('FabricClient sends typing', () => {
  it('relays typing to the other members, at most once per 2 s however often it is called, within the flood limit', async () => {
    const { owner, members, guildId } = await seedGuild(strict, 1);
    const [agent] = members;
    const ch = await createChannel(strict, owner.token, { guildId, name: 'typing', xType: 'general', memberUserIds: [agent.id] });
    const [typist, reader] = await Promise.all([sdkSubscriber(strict.url, agent), sdkSubscriber(strict.url, owner)]);
    const got = (s: typeof typist) => {
      const out: { channelId: string; userId: string }[] = [];
      s.c.on('typing', (e) => void out.push(e));
      return out;
    };
    const [typistGot, readerGot] = [got(typist), got(reader)];
    const ended: string[] = [];
    typist.c.onSessionEnded((e) => void ended.push(e.code));

    // A keystroke each: 10 calls, one socket event (the node allows 3 per 10 s here).
    for (let i = 0; i < 10; i++) typist.c.typing(ch.id);
    await expect.poll(() => readerGot, WAIT).toEqual([{ channelId: ch.id, userId: agent.id }]);
    await sleep(300);
    expect(readerGot).toHaveLength(1);
    expect(typistGot).toEqual([]);
    expect(ended).toEqual([]);
    expect(typist.c.connected).toBe(true);
  });
});
