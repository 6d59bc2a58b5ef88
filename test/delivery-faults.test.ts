/**
 * realtime.md "Order and once" under the faults that the other delivery suites do not break
 * (docs/realtime.md "Faults and where they are tested"): in split mode with two realtime
 * processes over a private Redis (A in this process, receiving the hand-overs; B a child
 * process, to stop and kill) and API processes (one in this process, one a child that hands
 * over through a TCP proxy); and an all-in-one node. Each subscriber's stream is counted:
 * positions lost, duplicated, or received out of order must all be 0.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { startAllInOne, startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import {
  connectSocket,
  createChannel,
  emitAck,
  privateBackends,
  recordEvents,
  restFixture,
  seedGuild,
  sleep,
  spawnNode,
  waitFor,
  type ChildRun,
  type RestFixture,
  type TestUser,
} from './helpers/harness.js';
import { deliveryCounts, expectEverySubscriber, streamHead, wireFollower, writersIn, type WireFollower } from './helpers/delivery.js';
import { startPrivateRedis, type PrivateRedis } from './helpers/private-redis.js';
import { awayableClient, closeClients, postLoad, sdkSubscriber } from './helpers/sdk.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const SECRET = 'delivery-faults-secret';

let redis: PrivateRedis;
let backends: Awaited<ReturnType<typeof privateBackends>>;
/** Realtime A (this process) receives every hand-over; B (a child) gets them through Redis. */
let a: RunningProcess & { internalPort: number };
let b: { child: ChildRun; url: string };
let api: RunningProcess;
let node: RestFixture;
/** An API process in a child, handing over to A through `handover`. */
let apiChild: { child: ChildRun; url: string };
let handover: TcpProxy;
/** An all-in-one node on the same database. */
let t: RunningProcess;
let tNode: RestFixture;
const sockets: Socket[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  [redis, backends] = await Promise.all([startPrivateRedis(), privateBackends()]);
  const env = backends.env({ FABRIC_BACKEND_GUILD_INTERNAL_SECRET: SECRET, FABRIC_BACKEND_GUILD_REDIS_URL: redis.url, FABRIC_BACKEND_GUILD_LOG_LEVEL: 'silent' });
  // In process, first: migrates the database the children then share.
  a = await startRealtimeProcess(loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0' }));
  handover = await startTcpProxy({ host: '127.0.0.1', port: a.internalPort });
  proxies.push(handover);
  const childEnv = { ...env, FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info', FABRIC_BACKEND_GUILD_DB_SYNC: 'false' };
  const startB = async () => {
    const child = spawnNode('scripts/realtime.ts', { ...childEnv, FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0' });
    const { port } = await child.waitForLog('guild node realtime listening', 60_000);
    return { child, url: `http://127.0.0.1:${port}` };
  };
  const startApiChild = async () => {
    const child = spawnNode('scripts/api.ts', { ...childEnv, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: handover.url('http'), FABRIC_BACKEND_GUILD_EMIT_TIMEOUT_MS: '500' });
    const { port } = await child.waitForLog('guild node API listening', 60_000);
    return { child, url: `http://127.0.0.1:${port}` };
  };
  [b, apiChild, api, t] = await Promise.all([
    startB(),
    startApiChild(),
    startApiProcess(loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${a.internalPort}` }), { heartbeat: false, jobs: false }),
    startAllInOne(loadConfig(backends.env()), { heartbeat: false, jobs: false }),
  ]);
  node = restFixture(api.url, backends.center);
  tNode = restFixture(t.url, backends.center);
}, 90_000);
afterAll(async () => {
  for (const s of sockets) s.close();
  closeClients();
  await Promise.all([b?.child.stop(), apiChild?.child.stop()]);
  await api?.close();
  await a?.close();
  for (const p of proxies) await p.close();
  await t?.close();
  await backends?.close();
  redis?.kill();
});
const wires: WireFollower[] = [];
afterEach(() => {
  closeClients();
  for (const f of wires.splice(0)) f.socket.close();
});

const follow = (url: string, token: string, channelId: string) => {
  const f = wireFollower(url, token, channelId);
  wires.push(f);
  return f;
};

/** A socket of `token` on `url`, joined to the channel, recording the positions of its messages. */
async function joinedSocket(url: string, token: string, channelId: string) {
  const sock = await connectSocket(url, token);
  sockets.push(sock);
  const got = recordEvents<{ pos: number; content: string }>(sock, 'message.created');
  expect((await emitAck(sock, 'join_channel', { channelId })).ok).toBe(true);
  return got;
}

/** Posts of each writer per round of `loadUntil`. */
const ROUND = 10;

/** Rounds of posts (postLoad) by every writer until `over()` holds, then one more; returns the number of rounds. */
async function loadUntil(over: () => boolean, url: string, channelId: string, writers: TestUser[]) {
  let rounds = 0;
  for (let last = false; !last; rounds++) {
    last = over();
    await postLoad([url], channelId, writers, ROUND, undefined, rounds * ROUND);
  }
  return rounds;
}

describe('split mode: two realtime processes over Redis', () => {
  it('a reader who loses access (an admin demoted) gets every event committed before, on both realtime processes, while some of them are late', async () => {
    const { owner, members, guildId } = await seedGuild(node, 2);
    const [reader, member] = members;
    expect((await node.api('PATCH', `/api/guilds/${guildId}/members/${reader.id}`, { token: owner.token, body: { role: 'admin' } })).status).toBe(200);
    const ch = await createChannel(node, owner.token, { guildId, name: 'private', xType: 'general', isPublic: false, memberUserIds: [member.id] });
    const [readerOnA, readerOnB, memberOnA, memberOnB] = await Promise.all([
      joinedSocket(a.url, reader.token, ch.id),
      joinedSocket(b.url, reader.token, ch.id),
      joinedSocket(a.url, member.token, ch.id),
      joinedSocket(b.url, member.token, ch.id),
    ]);
    const postTo = async (fixture: RestFixture, content: string) =>
      expect((await fixture.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content } })).status).toBe(201);
    const child = restFixture(apiChild.url, backends.center);
    await postTo(node, 'live');
    // Committed, not handed over (yet): the next one, handed over at once, waits behind it.
    handover.drop();
    await postTo(child, 'late');
    await postTo(node, 'behind the late one');
    const before = await streamHead(node, ch.id, owner.token);
    expect((await node.api('PATCH', `/api/guilds/${guildId}/members/${reader.id}`, { token: owner.token, body: { role: 'member' } })).status).toBe(200);
    await api.ctx.emitter.flush();
    handover.restore();
    for (const got of [memberOnA, memberOnB]) await waitFor('the members got every post', async () => (got.length === before ? true : undefined), 10_000);
    // Every process has applied the leave by now: what follows is not the reader's.
    await sleep(1000);
    await postTo(node, 'after the demotion');
    for (const got of [memberOnA, memberOnB]) await waitFor('the members got the last post', async () => (got.length === before + 1 ? true : undefined), 10_000);
    await sleep(300);
    for (const [who, got] of Object.entries({ readerOnA, readerOnB })) {
      expect(
        deliveryCounts(
          got.map((m) => m.pos),
          before,
        ),
        who,
      ).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
      expect(
        got.map((m) => m.content),
        who,
      ).toEqual(['live', 'late', 'behind the late one']);
    }
    for (const got of [memberOnA, memberOnB])
      expect(
        deliveryCounts(
          got.map((m) => m.pos),
          before + 1,
        ),
      ).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  it('an API process killed with kill -9 after commits it could not hand over: every subscriber on both realtime processes gets them from the log, without any client action', async () => {
    const { w, writers, ch } = await writersIn(node, 6);
    const sdk = [await sdkSubscriber(api.url, w.owner, { realtimeUrl: a.url }), await sdkSubscriber(api.url, w.m1, { realtimeUrl: b.url })];
    const wire = [follow(a.url, w.m2.token, ch.id), follow(b.url, w.m3.token, ch.id)];
    await Promise.all(wire.map((f) => f.joined));
    // Live, through both API processes.
    await postLoad([api.url, apiChild.url], ch.id, writers.slice(0, 2), 10);
    // The child's hand-overs fail from here on; it commits, answers 201, and dies.
    handover.drop();
    await postLoad([apiChild.url], ch.id, writers.slice(2, 4), 10);
    apiChild.child.proc.kill('SIGKILL');
    expect(await apiChild.child.exited).toBe('SIGKILL');
    handover.restore();
    // Nothing follows them: the stream is quiet, and they still arrive.
    await expectEverySubscriber(40, sdk, wire);
    // Live again, through the API process left.
    await postLoad([api.url], ch.id, writers.slice(4, 6), 10);
    const last = await streamHead(node, ch.id, w.owner.token);
    expect(last).toBe(60);
    await expectEverySubscriber(last, sdk, wire);
    wire.forEach((f) => expect(f.connects()).toBe(1));
  });

  it('clients that reconnect again and again under load, across both realtime processes, then from a realtime process killed with kill -9 to the other: 0 lost, 0 duplicated, in order', async () => {
    const { w, writers, ch } = await writersIn(node, 4);
    // A load balancer in front of the realtime processes: it sends new connections to B, then A, …
    const lb = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(b.url).port) });
    proxies.push(lb);
    const to = (url: string) => lb.retarget({ host: '127.0.0.1', port: Number(new URL(url).port) });
    const sdk = [
      await sdkSubscriber(api.url, w.owner, { realtimeUrl: lb.url('http') }),
      await sdkSubscriber(api.url, w.m1, { realtimeUrl: lb.url('http') }),
      await sdkSubscriber(api.url, w.m2, { realtimeUrl: a.url }),
    ];
    const wire = [follow(lb.url('http'), w.m3.token, ch.id)];
    await Promise.all(wire.map((f) => f.joined));
    const movers = sdk.slice(0, 2);
    /** Sends the balanced clients to `url` and waits until each has reconnected there. */
    const moveTo = async (url: string) => {
      const before = [...movers.map((s) => s.reconnects.length), wire[0].connects()];
      to(url);
      await waitFor(
        'the clients reconnected',
        async () => (movers.every((s, i) => s.reconnects.length > before[i]) && wire[0].connects() > before[2] ? true : undefined),
        10_000,
        20,
      );
    };
    let faultsDone = false;
    const faults = (async () => {
      for (const url of [a.url, b.url, a.url, b.url]) await moveTo(url);
      b.child.proc.kill('SIGKILL');
      await moveTo(a.url);
      faultsDone = true;
    })();
    // The writers keep posting until the faults are over, and a round after.
    const rounds = await loadUntil(() => faultsDone, api.url, ch.id, writers);
    await faults;
    const last = await streamHead(node, ch.id, w.owner.token);
    expect(last).toBe(rounds * ROUND * writers.length);
    await expectEverySubscriber(last, sdk, wire);
    expect(await b.child.exited).toBe('SIGKILL');
  });
});

describe('all-in-one', () => {
  it('clients whose connection drops again and again under load: 0 lost, 0 duplicated, in order, without REST paging', async () => {
    const { w, writers, ch } = await writersIn(tNode, 4);
    const lb = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
    proxies.push(lb);
    const away = await awayableClient(t.url, w.owner, (p) => proxies.push(p));
    await away.c.connect();
    const steady = await sdkSubscriber(t.url, w.m1);
    const wire = [follow(lb.url('http'), w.m2.token, ch.id)];
    await Promise.all(wire.map((f) => f.joined));
    /** Takes the network away from the proxied clients and gives it back, once they are connected again. */
    const cut = async () => {
      const before = [away.reconnects.length, wire[0].connects()];
      away.proxy.drop();
      lb.drop();
      await sleep(50);
      away.proxy.restore();
      lb.restore();
      await waitFor('the clients reconnected', async () => (away.reconnects.length > before[0] && wire[0].connects() > before[1] ? true : undefined), 10_000, 20);
    };
    let cuts = 0;
    const faults = (async () => {
      for (; cuts < 4; cuts++) await cut();
    })();
    const rounds = await loadUntil(() => cuts === 4, t.url, ch.id, writers);
    await faults;
    const last = await streamHead(tNode, ch.id, w.owner.token);
    expect(last).toBe(rounds * ROUND * writers.length);
    await expectEverySubscriber(last, [away, steady], wire);
  });
});
