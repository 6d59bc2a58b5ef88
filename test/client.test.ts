/**
 * The client SDK (lib/client, `fabric-guild-node/client`) against the real all-in-one node:
 * real HTTP, real socket.io. Faults that the node cannot be made to produce on demand (an
 * answer lost on the way back, a 503 or 429 in front of it) are injected in the `fetch` the
 * SDK is given; everything behind it is the real node.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FabricApiError, SessionEndedError, type FabricClientOptions } from '../lib/client/index.js';
import type { Message, Turn } from '../lib/realtime/events.js';
import { rooms } from '../lib/realtime/rooms.js';
import { createChannel, seedGuild, sleep, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { post as postAs } from './helpers/messages.js';
import { awayableClient, closeClients, failingFetch, sdkClient, WAIT } from './helpers/sdk.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

let t: TestNode;
const proxies: TcpProxy[] = [];
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  for (const p of proxies) await p.close();
  await t?.close();
});
afterEach(closeClients);

const clientFor = (user: TestUser, opts: Partial<FabricClientOptions> = {}) => sdkClient(t.url, user, opts);

async function post(user: TestUser, channelId: string, content: string) {
  return (await postAs(t, user.token, channelId, content)) as unknown as Message;
}

/** The keys of api.md's Message: what the event map types `message.created` as. */
const MESSAGE_KEYS = ['id', 'channelId', 'guildId', 'seq', 'authorId', 'content', 'replyToId', 'mentions', 'attachments', 'clientMsgId', 'createdAt', 'editedAt', 'deletedAt'];

describe('FabricClient: connect and join', () => {
  it("joins the user's channels on connect and delivers message.created with the per-recipient wakeup", async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [agent, other] = members;
    const general = await createChannel(t, owner.token, { guildId, name: 'general', xType: 'general', memberUserIds: [agent.id, other.id] });
    const triage = await createChannel(t, owner.token, { guildId, name: 'triage', xType: 'triage', memberUserIds: [agent.id, other.id], wakeUserIds: [other.id] });
    const { c, seen } = clientFor(agent);
    await c.connect();
    expect(Object.keys(c.positions()).sort()).toEqual([general.id, triage.id].sort());

    const inGeneral = await post(owner, general.id, 'hello all');
    const inTriage = await post(owner, triage.id, 'for the on-duty member');
    await expect.poll(() => seen.length, WAIT).toBe(2);
    expect(seen.map((s) => [s.message.id, s.info.wakeup, s.info.replayed, s.info.source])).toEqual([
      [inGeneral.id, true, false, 'live'],
      [inTriage.id, false, false, 'live'],
    ]);
    // The payload is the event map's: the message object plus the delivery fields.
    expect(
      Object.keys(seen[0].message)
        .filter((k) => !['wakeup', 'wakeReason', 'pos', 'replayed'].includes(k))
        .sort(),
    ).toEqual([...MESSAGE_KEYS].sort());
    expect(seen[0].message).toMatchObject({ ...inGeneral, wakeup: true });
  });

  it('follows channel.joined and channel.left', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const { c, seen } = clientFor(agent);
    const joined: string[] = [];
    const left: string[] = [];
    c.onChannelJoined((e) => void joined.push(e.channelId));
    c.onChannelLeft((e) => void left.push(e.channelId));
    await c.connect();

    const ch = await createChannel(t, owner.token, { guildId, name: 'later', xType: 'general', memberUserIds: [agent.id] });
    await expect.poll(() => joined, WAIT).toEqual([ch.id]);
    await expect.poll(() => c.positions(), WAIT).toHaveProperty(ch.id);
    await expect.poll(async () => (await post(owner, ch.id, 'after the join'), seen.length), WAIT).toBeGreaterThan(0);
    expect(seen[0].message.channelId).toBe(ch.id);

    const r = await t.api('DELETE', `/api/channels/${ch.id}/members/${agent.id}`, { token: owner.token });
    expect(r.status).toBe(204);
    await expect.poll(() => left, WAIT).toEqual([ch.id]);
    expect(c.positions()).not.toHaveProperty(ch.id);
  });

  it('rejects connect with SessionEndedError when the node refuses the token, and then refuses to post', async () => {
    const user = await t.centerApi.user();
    await t.centerApi.revoke(user.token);
    const { c } = clientFor(user);
    await expect(c.connect()).rejects.toBeInstanceOf(SessionEndedError);
    expect(c.sessionEnded?.code).toBe('unauthorized');
    await expect(c.post('any', 'x')).rejects.toBeInstanceOf(SessionEndedError);
  });
});

describe('FabricClient: handlers that fail', () => {
  it('reports an async handler of on(event) that rejects to onError, and goes on delivering', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'h', xType: 'general', memberUserIds: [agent.id] });
    const { c } = clientFor(agent);
    const errors: string[] = [];
    c.onError((err) => void errors.push(err.message));
    const edits: string[] = [];
    c.on('message.updated', async (m) => {
      edits.push(m.content);
      await sleep(1);
      throw new Error(`handler failed on ${m.content}`);
    });
    await c.connect();
    const m = await post(owner, ch.id, 'first');
    for (const content of ['edit 1', 'edit 2']) {
      expect((await t.api('PATCH', `/api/messages/${m.id}`, { token: owner.token, body: { content } })).status).toBe(200);
    }
    await expect.poll(() => errors, WAIT).toEqual(['handler failed on edit 1', 'handler failed on edit 2']);
    expect(edits).toEqual(['edit 1', 'edit 2']);
  });
});

describe('FabricClient: closed while the node is away', () => {
  it('rejects a connect() still waiting for the node when the client is closed, and every later connect()', async () => {
    const { members } = await seedGuild(t, 1);
    const { c, proxy } = await awayableClient(t.url, members[0], (p) => proxies.push(p));
    proxy.drop();
    const connecting = c.connect();
    const outcome = connecting.then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    await sleep(300);
    c.close();
    await expect(outcome).resolves.toBe('client closed');
    await expect(c.connect()).rejects.toThrow('client closed');
    expect(c.connected).toBe(false);
  });

  it('rejects join() after close(), and one in flight when close() comes, with Error("client closed"): nothing is followed', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const ch = await createChannel(t, owner.token, { guildId, name: 'closed', xType: 'general', isPublic: true });
    const { c } = clientFor(members[0], { autoJoin: false });
    await c.connect();
    const inFlight = c.join(ch.id);
    c.close();
    await expect(inFlight).rejects.toThrow('client closed');
    await expect(c.join(ch.id)).rejects.toThrow('client closed');
    expect(c.positions()).toEqual({});
  });
});

describe('FabricClient: posting with clientMsgId', () => {
  async function postingWorld() {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const ch = await createChannel(t, owner.token, { guildId, name: 'p', xType: 'report', memberUserIds: [members[0].id] });
    return { agent: members[0], ch };
  }
  const listed = async (user: TestUser, channelId: string) =>
    (await t.api('GET', `/api/channels/${channelId}/messages?limit=100`, { token: user.token })).body.messages as Message[];

  it('retries after a lost answer and returns the message stored by the first try, stored once', async () => {
    const { agent, ch } = await postingWorld();
    let posts = 0;
    // The first POST reaches the node and is stored; its answer is lost on the way back.
    const lossy: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && ++posts === 1) {
        await res.text();
        throw new TypeError('fetch failed');
      }
      return res;
    };
    const c = clientFor(agent, { fetch: lossy, retry: { backoff: { baseMs: 10, maxMs: 20 } } }).c;
    const result = await c.post(ch.id, { content: 'only once', clientMsgId: 'cm-lost-1' });
    expect(posts).toBe(2);
    expect(result.message).toMatchObject({ content: 'only once', clientMsgId: 'cm-lost-1' });
    expect(result.message && result.created).toBe(false);
    const stored = await listed(agent, ch.id);
    expect(stored.map((m) => m.id)).toEqual([result.message!.id]);
  });

  it('retries 503 with backoff, generating one clientMsgId for every try', async () => {
    const { agent, ch } = await postingWorld();
    const bodies: { clientMsgId: string }[] = [];
    const flaky: typeof fetch = async (input, init) => {
      if (init?.method === 'POST') {
        bodies.push(JSON.parse(String(init.body)));
        if (bodies.length <= 2) return Response.json({ error: { code: 'db_unavailable', message: 'down' } }, { status: 503 });
      }
      return fetch(input, init);
    };
    const c = clientFor(agent, { fetch: flaky, retry: { backoff: { baseMs: 10, maxMs: 20 } } }).c;
    const result = await c.post(ch.id, 'through a 503');
    expect(result.created).toBe(true);
    expect(bodies).toHaveLength(3);
    expect(new Set(bodies.map((b) => b.clientMsgId)).size).toBe(1);
    expect(result.message!.clientMsgId).toBe(bodies[0].clientMsgId);
  });

  it('waits out a 429 Retry-After exactly once; a second 429 is the caller’s', async () => {
    const { agent, ch } = await postingWorld();
    const limited = (times: number) => {
      const at: number[] = [];
      const f: typeof fetch = async (input, init) => {
        if (init?.method === 'POST' && at.push(Date.now()) <= times) {
          return Response.json({ error: { code: 'rate_limited', message: 'slow down' } }, { status: 429, headers: { 'retry-after': '1' } });
        }
        return fetch(input, init);
      };
      return { f, at };
    };
    const once = limited(1);
    const result = await clientFor(agent, { fetch: once.f }).c.post(ch.id, 'after the wait');
    expect(result.created).toBe(true);
    expect(once.at).toHaveLength(2);
    expect(once.at[1] - once.at[0]).toBeGreaterThanOrEqual(990);

    const twice = limited(2);
    const err = await clientFor(agent, { fetch: twice.f })
      .c.post(ch.id, 'refused')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FabricApiError);
    expect(err).toMatchObject({ status: 429, code: 'rate_limited', retryAfterMs: 1000 });
    expect(twice.at).toHaveLength(2);
    expect((await listed(agent, ch.id)).map((m) => m.content)).toEqual(['after the wait']);
  });

  it('gives up on a request the node does not answer within requestTimeoutMs (a post once its tries are over)', async () => {
    const { agent, ch } = await postingWorld();
    // A node whose connections are accepted but not answered for two minutes (a hung process or network).
    const silent = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(t.url).port) }, { delayMs: 120_000 });
    proxies.push(silent);
    const c = clientFor(agent, { url: silent.url('http'), requestTimeoutMs: 300, retry: { maxAttempts: 2, backoff: { baseMs: 10, maxMs: 20 } } }).c;
    const started = Date.now();
    await expect(c.recentMessages(ch.id)).rejects.toMatchObject({ status: 0, code: 'timeout' });
    await expect(c.post(ch.id, 'never answered')).rejects.toMatchObject({ status: 0, code: 'timeout' });
    // One read and two tries of the post, each given up after 300 ms.
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('does not retry a client mistake', async () => {
    const { agent, ch } = await postingWorld();
    let posts = 0;
    const counting: typeof fetch = async (input, init) => {
      if (init?.method === 'POST') posts++;
      return fetch(input, init);
    };
    const err = await clientFor(agent, { fetch: counting })
      .c.post(ch.id, { content: '' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, code: 'bad_request' });
    expect(posts).toBe(1);
  });
});

describe('FabricClient: reconnecting', () => {
  it('comes back after the server disconnects it, rejoins, and delivers what was posted meanwhile once each, in order', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'r', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, reconnects } = clientFor(agent);
    await c.connect();
    const before = await post(owner, ch.id, 'before');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    t.node.realtime.nsp.disconnectSockets(true);
    const during: Message[] = [];
    for (let i = 0; i < 5; i++) during.push(await post(owner, ch.id, `during ${i}`));
    await expect.poll(() => reconnects, WAIT).toEqual([false, true]);
    const after = await post(owner, ch.id, 'after');
    const expected = [before, ...during, after].map((m) => m.id);
    await expect.poll(() => seen.map((s) => s.message.id), WAIT).toEqual(expected);
    expect(seen.map((s) => s.message.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('keeps a channel joined by hand (a reader of a public channel) across a reconnect', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [reader] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'pub', xType: 'general', isPublic: true });
    const { c, seen, reconnects } = clientFor(reader);
    await c.connect();
    expect(c.positions()).toEqual({});
    await c.join(ch.id);
    await post(owner, ch.id, 'one');
    await expect.poll(() => seen.length, WAIT).toBe(1);

    t.node.realtime.nsp.disconnectSockets(true);
    await expect.poll(() => reconnects, WAIT).toEqual([false, true]);
    await post(owner, ch.id, 'two');
    await expect
      .poll(() => seen.map((s) => [s.message.content, s.info.wakeup]), WAIT)
      .toEqual([
        ['one', false],
        ['two', false],
      ]);
  });

  it('keeps a channel the application left with leave() left across a reconnect, until join()', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [agent] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'muted', xType: 'general', memberUserIds: [agent.id] });
    const { c, seen, reconnects } = clientFor(agent);
    await c.connect();
    expect(Object.keys(c.positions())).toEqual([ch.id]);
    c.leave(ch.id);
    t.node.realtime.nsp.in(rooms.user(agent.id)).disconnectSockets(true);
    await expect.poll(() => reconnects, WAIT).toEqual([false, true]);
    expect(c.positions()).toEqual({});
    const witness = clientFor(owner);
    await witness.c.connect();
    const m = await post(owner, ch.id, 'while left');
    await expect.poll(() => witness.seen.map((d) => d.message.id), WAIT).toContain(m.id);
    await sleep(300);
    expect(seen).toEqual([]);

    await c.join(ch.id);
    await post(owner, ch.id, 'after join');
    await expect.poll(() => seen.map((d) => d.message.content), WAIT).toEqual(['after join']);
  });

  it('keeps following a public channel joined by hand when a membership in it ends; a private one is dropped', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const [reader] = members;
    const pub = await createChannel(t, owner.token, { guildId, name: 'pub-member', xType: 'general', isPublic: true });
    const priv = await createChannel(t, owner.token, { guildId, name: 'priv-member', xType: 'general', memberUserIds: [reader.id] });
    const { c, seen } = clientFor(reader);
    const left: string[] = [];
    c.onChannelLeft((e) => void left.push(e.channelId));
    await c.connect();
    await c.join(pub.id);
    await c.join(priv.id);
    expect((await t.api('POST', `/api/channels/${pub.id}/members`, { token: owner.token, body: { userIds: [reader.id] } })).status).toBe(200);
    await post(owner, pub.id, 'as a member');
    await expect.poll(() => seen.map((d) => d.message.content), WAIT).toEqual(['as a member']);
    for (const ch of [pub, priv]) expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${reader.id}`, { token: owner.token })).status).toBe(204);
    await expect.poll(() => left.sort(), WAIT).toEqual([pub.id, priv.id].sort());
    await post(owner, priv.id, 'private, after the removal');
    await post(owner, pub.id, 'as a reader again');
    await expect
      .poll(() => seen.map((d) => [d.message.content, d.info.wakeup]), WAIT)
      .toEqual([
        ['as a member', true],
        ['as a reader again', false],
      ]);
    await expect.poll(() => Object.keys(c.positions()), WAIT).toEqual([pub.id]);
  });

  it('re-reads the turn after a reconnect and tells the agent it is its turn, once per turn state', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [agent, other] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'd', xType: 'discuss', memberUserIds: [agent.id, other.id] });
    // The owner opens the round: the agent (first in the order) is the speaker, woken while offline.
    await post(owner, ch.id, 'topic');
    const { c, reconnects } = clientFor(agent);
    const turns: { turn: Turn; reason: string; wakeup: boolean }[] = [];
    c.onTurn((turn, info) => void turns.push({ turn, reason: info.reason, wakeup: info.wakeup }));
    await c.connect();
    expect(turns).toEqual([]);

    t.node.realtime.nsp.disconnectSockets(true);
    await expect.poll(() => turns.length, WAIT).toBe(1);
    expect(turns[0]).toMatchObject({ reason: 'reconnect', wakeup: true, turn: { channelId: ch.id, speakerId: agent.id, status: 'active' } });

    // Same turn state after another reconnect: not told twice.
    t.node.realtime.nsp.disconnectSockets(true);
    // 'connected' is reported after the re-read of the turns is done.
    await expect.poll(() => reconnects, WAIT).toEqual([false, true, true]);
    expect(turns).toHaveLength(1);
  });

  it('reads the turn again when its re-read after a reconnect fails, and still tells the agent it is its turn', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [agent, other] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'd-fail', xType: 'discuss', memberUserIds: [agent.id, other.id] });
    await post(owner, ch.id, 'topic');
    // The first turn read is answered 503 (the API process lost its database for a moment).
    const rest = failingFetch((url) => url.pathname.endsWith('/turn'));
    const { c } = clientFor(agent, { fetch: rest.fetch });
    const turns: { reason: string; wakeup: boolean }[] = [];
    c.onTurn((_turn, info) => void turns.push({ reason: info.reason, wakeup: info.wakeup }));
    const errors: string[] = [];
    c.onError((err) => void errors.push((err as FabricApiError).code));
    await c.connect();

    t.node.realtime.nsp.disconnectSockets(true);
    await expect.poll(() => turns, WAIT).toEqual([{ reason: 'reconnect', wakeup: true }]);
    expect(rest.failed()).toBe(1);
    expect(errors).toEqual(['db_unavailable']);
  });

  it('does not tell the agent again after a reconnect when it was woken live for that turn', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [agent, other] = members;
    const ch = await createChannel(t, owner.token, { guildId, name: 'd2', xType: 'discuss', memberUserIds: [agent.id, other.id] });
    const { c, seen } = clientFor(agent);
    const turns: string[] = [];
    c.onTurn((_turn, info) => void turns.push(`${info.reason}:${info.wakeup}`));
    const reconnects: boolean[] = [];
    c.onConnected((e) => void reconnects.push(e.reconnect));
    await c.connect();
    await post(owner, ch.id, 'topic');
    await expect.poll(() => seen.map((s) => s.info.wakeup), WAIT).toEqual([true]);
    await expect.poll(() => turns, WAIT).toEqual(['message:false']);

    t.node.realtime.nsp.disconnectSockets(true);
    // 'connected' is reported after the re-read of the turns is done.
    await expect.poll(() => reconnects, WAIT).toEqual([false, true]);
    expect(turns).toEqual(['message:false']);
  });
});
