/**
 * Delivery from the event log under load and faults (realtime.md "Streams, positions and
 * resume"): every subscriber receives each channel stream strictly in pos order, with no gap
 * and no duplicate — with many writers on one node (default pool: two post batches in
 * flight), in split mode with two API processes, while the Redis shared by two realtime
 * processes (a private redis-server started here) is killed and restarted, and across a
 * kill -9 and restart of the realtime process, and across a kill -9 of one of two API
 * processes mid-load (writers retry on the other one with the same clientMsgId).
 *
 * Writers and subscribers are client SDK clients (test/helpers/sdk.ts): what an agent sees.
 * The SDK orders a stream and fills a gap that stays open by rejoining with `since`, so it
 * would hide a node that sends out of order or drops an event. Where the guarantee is the
 * node's own (in order on the wire; delivered from the log without any client doing
 * anything), a raw socket.io subscriber that only records arrivals checks it too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FabricRest } from '../lib/client/index.js';
import { loadConfig } from '../lib/config.js';
import { startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import { createChannel, freePort, privateBackends, restFixture, sleep, spawnNode, startTestNode, type ChildRun, type TestNode } from './helpers/harness.js';
import { expectEverySubscriber, streamHead as head, wireFollower, writersIn, type WireFollower } from './helpers/delivery.js';
import { startPrivateRedis } from './helpers/private-redis.js';
import { closeClients, postLoad, sdkSubscriber } from './helpers/sdk.js';
import { seedWorld } from './helpers/world.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
}, 60_000);
afterAll(async () => t?.close());
afterEach(closeClients);

describe('in order with many writers', () => {
  it('on one node (default pool): every subscriber gets each position once, in order', async () => {
    const { w, writers, ch } = await writersIn(t, 8);
    const sdk = [await sdkSubscriber(t.url, w.owner)];
    const wire = [wireFollower(t.url, w.m1.token, ch.id)];
    await Promise.all(wire.map((f) => f.joined));
    await postLoad([t.url], ch.id, writers, 20);
    const last = await head(t, ch.id, w.owner.token);
    expect(last).toBe(160);
    await expectEverySubscriber(last, sdk, wire);
    for (const f of wire) f.socket.close();
  });

  it('in split mode with two API processes and one realtime process (SDK clients with separate REST and realtime URLs)', async () => {
    const secret = 'order-secret';
    const realtime = await startRealtimeProcess({ ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret });
    const internal = `http://127.0.0.1:${realtime.internalPort}`;
    const apis: RunningProcess[] = [];
    const wire: WireFollower[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        apis.push(await startApiProcess({ ...t.node.ctx.config, port: 0, realtimeInternalUrl: internal, internalSecret: secret }, { heartbeat: false, jobs: false }));
      }
      const { w, writers, ch } = await writersIn(t, 8);
      const sdk = [await sdkSubscriber(apis[0].url, w.owner, { realtimeUrl: realtime.url }), await sdkSubscriber(apis[1].url, w.m1, { realtimeUrl: realtime.url })];
      wire.push(wireFollower(realtime.url, w.m2.token, ch.id));
      await Promise.all(wire.map((f) => f.joined));
      await postLoad(
        apis.map((a) => a.url),
        ch.id,
        writers,
        20,
      );
      const last = await head(t, ch.id, w.owner.token);
      expect(last).toBe(160);
      await expectEverySubscriber(last, sdk, wire);
    } finally {
      for (const f of wire) f.socket.close();
      closeClients();
      for (const a of apis) await a.close();
      await realtime.close();
    }
  });
});

describe('faults', () => {
  it('a Redis shared by two realtime processes is killed and restarted under load: 0 lost, 0 duplicated, in order', async () => {
    const redis = await startPrivateRedis();
    const redisUrl = redis.url;
    const secret = 'redis-secret';
    const config = { ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret, redisUrl, logLevel: 'silent' as const };
    const [a, b] = [await startRealtimeProcess(config), await startRealtimeProcess(config)];
    const api = await startApiProcess(
      { ...t.node.ctx.config, port: 0, realtimeInternalUrl: `http://127.0.0.1:${a.internalPort}`, internalSecret: secret },
      { heartbeat: false, jobs: false },
    );
    const wire: WireFollower[] = [];
    try {
      const { w, writers, ch } = await writersIn(t, 4);
      // Subscribers on the process that does not receive the hand-overs: only Redis (or the log) brings them.
      const sdk = [await sdkSubscriber(api.url, w.owner, { realtimeUrl: b.url }), await sdkSubscriber(api.url, w.m2, { realtimeUrl: a.url })];
      wire.push(wireFollower(b.url, w.m1.token, ch.id));
      await Promise.all(wire.map((f) => f.joined));
      let restarted: Promise<void> | undefined;
      await postLoad([api.url], ch.id, writers, 30, (done) => {
        if (done === 40 && !restarted) {
          redis.kill();
          restarted = sleep(2000).then(() => redis.restart());
        }
      });
      await restarted;
      const last = await head(t, ch.id, w.owner.token);
      expect(last).toBe(120);
      await expectEverySubscriber(last, sdk, wire);
    } finally {
      for (const f of wire) f.socket.close();
      closeClients();
      await api.close();
      await Promise.all([a.close(), b.close()]);
      redis.kill();
    }
  });

  it('kill -9 of the realtime process and a restart: every SDK subscriber gets every event exactly once, in order, without REST paging', async () => {
    const backends = await privateBackends();
    const [port, internalPort] = [await freePort(), await freePort()];
    const env = backends.env({ FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'restart-secret', FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' });
    // In process: migrates the database the realtime child then shares.
    const api = await startApiProcess(
      loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${internalPort}`, FABRIC_BACKEND_GUILD_LOG_LEVEL: 'silent' }),
      {
        heartbeat: false,
        jobs: false,
      },
    );
    const startChild = async () => {
      const child = spawnNode('scripts/realtime.ts', {
        ...env,
        FABRIC_BACKEND_GUILD_DB_SYNC: 'false',
        FABRIC_BACKEND_GUILD_REALTIME_PORT: String(port),
        FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: String(internalPort),
      });
      await child.waitForLog('guild node realtime listening', 60_000);
      return child;
    };
    let child: ChildRun = await startChild();
    const node = restFixture(api.url, backends.center);
    try {
      const w = await seedWorld(node);
      const writers = [w.m1, w.m2, w.m3];
      const ch = await createChannel(node, w.owner.token, { guildId: w.guildId, name: 'restart', xType: 'general', memberUserIds: writers.map((x) => x.id) });
      const realtimeUrl = `http://127.0.0.1:${port}`;
      const sdk = [await sdkSubscriber(api.url, w.owner, { realtimeUrl }), await sdkSubscriber(api.url, w.m1, { realtimeUrl })];
      let restarted: Promise<ChildRun> | undefined;
      await postLoad([api.url], ch.id, writers, 30, (done) => {
        if (done === 30 && !restarted) {
          child.proc.kill('SIGKILL');
          restarted = child.exited.then(() => startChild());
        }
      });
      child = await restarted!;
      const last = await head(node, ch.id, w.owner.token);
      expect(last).toBe(90);
      await expectEverySubscriber(last, sdk);
      // They did lose the connection: what they missed came back as a replay from the log.
      sdk.forEach((s, i) => expect(s.reconnects.filter(Boolean).length, `SDK subscriber ${i} reconnected`).toBeGreaterThan(0));
    } finally {
      closeClients();
      await child.stop();
      await api.close();
      await backends.close();
    }
  });
});

/**
 * A `fetch` for an SDK writer of two API processes: requests go to the current one; a network
 * error (no answer: the process is gone) moves the writer to the other one, and the SDK's
 * retry of the same post (same `clientMsgId`) goes there.
 */
function failoverFetch(urls: string[], first: number, onFailover: () => void): typeof fetch {
  let current = first;
  return async (input, init) => {
    const url = new URL(String(input));
    const target = new URL(urls[current]);
    url.host = target.host;
    try {
      return await fetch(url, init);
    } catch (err) {
      current = (current + 1) % urls.length;
      onFailover();
      throw err;
    }
  };
}

describe('kill -9 of an API process', () => {
  it('mid-load, with SDK writers retrying on the other API process with the same clientMsgId: 0 lost, 0 duplicated, 0 gaps, every subscriber gets each message once, in order', async () => {
    const backends = await privateBackends();
    const env = backends.env({ FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'api-kill-secret', FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' });
    // In process: migrates the database the API children then share.
    const realtime = await startRealtimeProcess(
      loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0', FABRIC_BACKEND_GUILD_LOG_LEVEL: 'silent' }),
    );
    const startApiChild = async () => {
      const child = spawnNode('scripts/api.ts', {
        ...env,
        FABRIC_BACKEND_GUILD_DB_SYNC: 'false',
        FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${realtime.internalPort}`,
      });
      const { port } = await child.waitForLog('guild node API listening', 60_000);
      return { child, url: `http://127.0.0.1:${port}` };
    };
    const children = await Promise.all([startApiChild(), startApiChild()]);
    try {
      const survivor = children[1].url;
      const node = restFixture(survivor, backends.center);
      const { w, writers, ch } = await writersIn(node, 6);
      const sdk = [await sdkSubscriber(survivor, w.owner, { realtimeUrl: realtime.url }), await sdkSubscriber(survivor, w.m1, { realtimeUrl: realtime.url })];

      const perWriter = 25;
      const total = writers.length * perWriter;
      let done = 0;
      let killed = false;
      const failovers = { count: 0 };
      const urls = children.map((c) => c.url);
      // Each writer starts on its own API process; the SDK retries a post that got no answer
      // (an answer lost with the process may hide a stored message) with the same clientMsgId,
      // on the other process.
      await Promise.all(
        writers.map(async (wr, i) => {
          const rest = new FabricRest({
            url: urls[i % 2],
            token: wr.token,
            fetch: failoverFetch(urls, i % 2, () => failovers.count++),
            retry: { maxAttempts: 50, backoff: { baseMs: 20, maxMs: 100 } },
          });
          for (let k = 0; k < perWriter; k++) {
            await rest.post(ch.id, { content: `w${i} ${k}`, clientMsgId: `${wr.id}-${k}` });
            if (++done === Math.floor(total / 3) && !killed) {
              killed = true;
              children[0].child.proc.kill('SIGKILL');
            }
          }
        }),
      );
      expect(killed).toBe(true);
      expect(await children[0].child.exited).toBe('SIGKILL');
      // The writers of the killed process really did fail over.
      expect(failovers.count).toBeGreaterThan(0);

      const reader = new FabricRest({ url: survivor, token: w.owner.token });
      const stored: { seq: number; clientMsgId: string | null }[] = [];
      for (let more = true; more;) {
        const page = await reader.messages(ch.id, { after: stored.at(-1)?.seq ?? 0, limit: 100 });
        stored.push(...page.messages);
        more = page.hasMore;
      }
      const expectedIds = writers.flatMap((wr) => Array.from({ length: perWriter }, (_, k) => `${wr.id}-${k}`));
      expect(stored.map((m) => m.clientMsgId).sort(), '0 lost, 0 duplicated').toEqual(expectedIds.sort());
      expect(
        stored.map((m) => m.seq),
        '0 seq gaps',
      ).toEqual(Array.from({ length: total }, (_, i) => i + 1));

      const last = await head(node, ch.id, w.owner.token);
      expect(last).toBe(total);
      await expectEverySubscriber(last, sdk);
      sdk.forEach((s, i) =>
        expect(
          s.seen.map((d) => d.message.seq),
          `SDK subscriber ${i}: every message once`,
        ).toEqual(Array.from({ length: total }, (_, j) => j + 1)),
      );
    } finally {
      closeClients();
      await Promise.all(children.map((c) => c.child.stop()));
      await realtime.close();
      await backends.close();
    }
  }, 90_000);
});
