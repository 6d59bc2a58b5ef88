/**
 * How the client SDK follows channels against the real node: joins the node refuses for a
 * while, channels it is added to (live, or while away) and their first messages, and leaves
 * that overtake a join in flight. Real HTTP and socket.io; what a client sees is what the SDK
 * delivered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rooms } from '../lib/realtime/rooms.js';
import { createChannel, seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { post } from './helpers/messages.js';
import { closeClients, sdkClient, sdkSubscriber, WAIT } from './helpers/sdk.js';

/** The default node. */
let t: TestNode;
/** A node that allows 3 client events per socket and 10 s (over 3 a join is refused with rate_limited). */
let strict: TestNode;
beforeAll(async () => {
  [t, strict] = await Promise.all([startTestNode(), startTestNode({ env: { FABRIC_BACKEND_GUILD_SOCKET_EVENTS_PER_10S: '3' } })]);
}, 60_000);
afterAll(async () => Promise.all([t?.close(), strict?.close()]));
afterEach(closeClients);

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
    // Four joins against a budget of three: one is refused (reported), and sent again after the window.
    await sleep(11_000);
    for (const ch of chans) await post(strict, owner.token, ch.id, `to ${ch.name}`);
    await expect.poll(() => s.seen.map((d) => d.message.content).sort(), WAIT).toEqual(chans.map((c) => `to ${c.name}`));
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
