/**
 * Delivery from the event log under load and faults (realtime.md "Streams, positions and
 * resume"): every subscriber receives each channel stream strictly in pos order, with no gap
 * and no duplicate — with many writers on one node (default pool: two post batches in
 * flight), in split mode with two API processes, while the Redis shared by two realtime
 * processes (a private redis-server started here) is killed and restarted, and across a
 * kill -9 and restart of the realtime process (subscribers rejoin with `since`), and across a
 * kill -9 of one of two API processes mid-load (writers retry on the other one with the same
 * clientMsgId).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { io as ioClient, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import {
  apiClient,
  centerClient,
  createChannel,
  createTestDatabase,
  emitAck,
  freePort,
  nodeEnv,
  sleep,
  spawnNode,
  startCenter,
  startTestNode,
  waitFor,
  type ChildRun,
  type TestNode,
  type TestUser,
} from './helpers/harness.js';
import { seedWorld } from './helpers/world.js';

type Api = ReturnType<typeof apiClient>;

/** True once something accepts TCP connections on the port (undefined before: for waitFor). */
const accepts = (port: number) =>
  new Promise<true | undefined>((resolve) => {
    const sock = connect(port, '127.0.0.1', () => {
      sock.destroy();
      resolve(true);
    });
    sock.on('error', () => resolve(undefined));
  });

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
}, 60_000);
afterAll(async () => t?.close());

/** A subscriber that follows one channel: rejoins with `since` on every (re)connect, records what arrives. */
function follow(url: string, token: string, channelId: string) {
  const got: { pos: number; seq?: number; replayed?: boolean }[] = [];
  let last = 0;
  const socket: Socket = ioClient(`${url}/realtime`, {
    auth: { token },
    transports: ['websocket'],
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    forceNew: true,
  });
  socket.on('message.created', (m: { pos: number; seq: number; replayed?: boolean }) => {
    got.push({ pos: m.pos, seq: m.seq, replayed: m.replayed });
    last = Math.max(last, m.pos);
  });
  const joined = new Promise<void>((resolve) => {
    socket.on('connect', () => {
      void emitAck<any>(socket, 'join_channel', { channelId, since: last }).then((ack) => {
        if (!ack.ok || ack.resync) throw new Error(`join failed: ${JSON.stringify(ack)}`);
        resolve();
      });
    });
  });
  return { socket, got, joined, last: () => last };
}

/** Asserts that `got` is exactly positions 1..head, in order, with seqs increasing. */
function expectExactStream(who: string, got: { pos: number; seq?: number }[], head: number) {
  expect(
    got.map((e) => e.pos),
    `${who}: every position once, in order`,
  ).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  const seqs = got.map((e) => e.seq!);
  expect(seqs, `${who}: seqs in order`).toEqual([...seqs].sort((a, b) => a - b));
}

/** `writers` users posting `perWriter` messages each, concurrently, through the given API clients (round robin), retrying with clientMsgId. */
async function postLoad(apis: Api[], channelId: string, writers: TestUser[], perWriter: number, onProgress?: (done: number) => void) {
  let done = 0;
  await Promise.all(
    writers.map(async (wr, i) => {
      for (let k = 0; k < perWriter; k++) {
        const clientMsgId = `${wr.id}-${k}`;
        for (let attempt = 0; ; attempt++) {
          const api = apis[(i + k + attempt) % apis.length];
          const r = await api('POST', `/api/channels/${channelId}/messages`, { token: wr.token, body: { content: `w${i} ${k}`, clientMsgId } }).catch(() => null);
          if (r && (r.status === 201 || r.status === 200)) break;
          if (attempt > 50) throw new Error(`post failed: ${r?.status}`);
          await sleep(100);
        }
        onProgress?.(++done);
      }
    }),
  );
}

async function writersIn(node: TestNode, count: number) {
  const w = await seedWorld(node);
  const writers: TestUser[] = [w.m1, w.m2, w.m3, w.admin];
  for (let i = writers.length; i < count; i++) {
    const u = await node.centerApi.user('writer');
    await node.api('POST', `/api/guilds/${w.guildId}/members`, { token: w.owner.token, body: { userIds: [u.id] } });
    writers.push(u);
  }
  const ch = await createChannel(node, w.owner.token, { guildId: w.guildId, name: 'load', xType: 'general', memberUserIds: writers.map((x) => x.id) });
  return { w, writers: writers.slice(0, count), ch };
}

const head = async (node: TestNode, channelId: string, token: string) => (await node.api('GET', `/api/channels/${channelId}`, { token })).body.channel.eventPos as number;

describe('in order with many writers', () => {
  it('on one node (default pool): every subscriber gets each position once, in order', async () => {
    const { w, writers, ch } = await writersIn(t, 8);
    const subs = [follow(t.url, w.owner.token, ch.id), follow(t.url, w.m1.token, ch.id)];
    await Promise.all(subs.map((s) => s.joined));
    await postLoad([t.api], ch.id, writers, 20);
    const last = await head(t, ch.id, w.owner.token);
    expect(last).toBe(160);
    await waitFor('every event', async () => (subs.every((s) => s.last() >= last) ? true : undefined), 20_000);
    await sleep(200);
    subs.forEach((s, i) => expectExactStream(`subscriber ${i}`, s.got, last));
    for (const s of subs) s.socket.close();
  });

  it('in split mode with two API processes and one realtime process', async () => {
    const secret = 'order-secret';
    const realtime = await startRealtimeProcess({ ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret });
    const internal = `http://127.0.0.1:${realtime.internalPort}`;
    const apis: RunningProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        apis.push(await startApiProcess({ ...t.node.ctx.config, port: 0, realtimeInternalUrl: internal, internalSecret: secret }, { heartbeat: false, jobs: false }));
      }
      const { w, writers, ch } = await writersIn(t, 8);
      const subs = [follow(realtime.url, w.owner.token, ch.id), follow(realtime.url, w.m2.token, ch.id)];
      await Promise.all(subs.map((s) => s.joined));
      await postLoad(
        apis.map((a) => apiClient(a.url)),
        ch.id,
        writers,
        20,
      );
      const last = await head(t, ch.id, w.owner.token);
      expect(last).toBe(160);
      await waitFor('every event', async () => (subs.every((s) => s.last() >= last) ? true : undefined), 20_000);
      await sleep(200);
      subs.forEach((s, i) => expectExactStream(`subscriber ${i}`, s.got, last));
      for (const s of subs) s.socket.close();
    } finally {
      for (const a of apis) await a.close();
      await realtime.close();
    }
  });
});

describe('faults', () => {
  it('a Redis shared by two realtime processes is killed and restarted under load: 0 lost, 0 duplicated, in order', async () => {
    const port = await freePort();
    const startRedis = () => spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    let redis: ChildProcess = startRedis();
    const redisUrl = `redis://127.0.0.1:${port}`;
    await waitFor('redis', () => accepts(port), 10_000);
    const secret = 'redis-secret';
    const config = { ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret, redisUrl, logLevel: 'silent' as const };
    const [a, b] = [await startRealtimeProcess(config), await startRealtimeProcess(config)];
    const api = await startApiProcess(
      { ...t.node.ctx.config, port: 0, realtimeInternalUrl: `http://127.0.0.1:${a.internalPort}`, internalSecret: secret },
      { heartbeat: false, jobs: false },
    );
    try {
      const { w, writers, ch } = await writersIn(t, 4);
      // Subscribers on the process that does not receive the hand-overs: only Redis (or the log) brings them.
      const subs = [follow(b.url, w.owner.token, ch.id), follow(b.url, w.m1.token, ch.id), follow(a.url, w.m2.token, ch.id)];
      await Promise.all(subs.map((s) => s.joined));
      let restarted: Promise<void> | undefined;
      await postLoad([apiClient(api.url)], ch.id, writers, 30, (done) => {
        if (done === 40 && !restarted) {
          redis.kill('SIGKILL');
          restarted = sleep(2000).then(() => {
            redis = startRedis();
          });
        }
      });
      await restarted;
      const last = await head(t, ch.id, w.owner.token);
      expect(last).toBe(120);
      await waitFor('every event', async () => (subs.every((s) => s.last() >= last) ? true : undefined), 20_000);
      await sleep(300);
      subs.forEach((s, i) => expectExactStream(`subscriber ${i}`, s.got, last));
      for (const s of subs) s.socket.close();
    } finally {
      await api.close();
      await Promise.all([a.close(), b.close()]);
      redis.kill('SIGKILL');
    }
  });

  it('kill -9 of the realtime process and a restart: every subscriber gets every event exactly once, in order, after rejoining with since', async () => {
    const center = await startCenter();
    const db = await createTestDatabase();
    const [port, internalPort] = [await freePort(), await freePort()];
    const secret = 'restart-secret';
    const env = nodeEnv(center, db, { FABRIC_BACKEND_GUILD_INTERNAL_SECRET: secret, FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' });
    // In process: migrates the database the realtime child then shares.
    const api = await startApiProcess(loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${internalPort}`, FABRIC_BACKEND_GUILD_LOG_LEVEL: 'silent' }), {
      heartbeat: false,
      jobs: false,
    });
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
    // The fixture helpers need only REST and the emulator's client.
    const node = { api: apiClient(api.url), centerApi: centerClient(center) } as unknown as TestNode;
    const subs: ReturnType<typeof follow>[] = [];
    try {
      const w = await seedWorld(node);
      const writers = [w.m1, w.m2, w.m3];
      const r = await node.api('POST', '/api/channels', { token: w.owner.token, body: { guildId: w.guildId, name: 'restart', xType: 'general', memberUserIds: writers.map((x) => x.id) } });
      const ch = r.body.channel;
      const url = `http://127.0.0.1:${port}`;
      subs.push(follow(url, w.owner.token, ch.id), follow(url, w.m1.token, ch.id));
      await Promise.all(subs.map((s) => s.joined));
      let restarted: Promise<ChildRun> | undefined;
      await postLoad([node.api], ch.id, writers, 30, (done) => {
        if (done === 30 && !restarted) {
          child.proc.kill('SIGKILL');
          restarted = child.exited.then(() => startChild());
        }
      });
      child = await restarted!;
      const last = (await node.api('GET', `/api/channels/${ch.id}`, { token: w.owner.token })).body.channel.eventPos as number;
      expect(last).toBe(90);
      await waitFor('every event after the restart', async () => (subs.every((s) => s.last() >= last) ? true : undefined), 30_000);
      await sleep(300);
      subs.forEach((s, i) => expectExactStream(`subscriber ${i}`, s.got, last));
    } finally {
      for (const s of subs) s.socket.close();
      await child.stop();
      await api.close();
      await center.close();
      await db.drop();
    }
  });
});

describe('kill -9 of an API process', () => {
  it('mid-load, with writers retrying on the other API process with the same clientMsgId: 0 lost, 0 duplicated, 0 gaps, every subscriber gets each message once, in order', async () => {
    const center = await startCenter();
    const db = await createTestDatabase();
    const secret = 'api-kill-secret';
    const env = nodeEnv(center, db, { FABRIC_BACKEND_GUILD_INTERNAL_SECRET: secret, FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' });
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
      return { child, api: apiClient(`http://127.0.0.1:${port}`) };
    };
    const children = await Promise.all([startApiChild(), startApiChild()]);
    const subs: ReturnType<typeof follow>[] = [];
    try {
      const node = { api: children[1].api, centerApi: centerClient(center) } as unknown as TestNode;
      const { w, writers, ch } = await writersIn(node, 6);
      subs.push(follow(realtime.url, w.owner.token, ch.id), follow(realtime.url, w.m1.token, ch.id));
      await Promise.all(subs.map((s) => s.joined));

      const perWriter = 25;
      const total = writers.length * perWriter;
      let done = 0;
      let killed = false;
      const networkErrors = { count: 0 };
      // Each writer starts on its own API process and moves to the other one on a network error,
      // retrying with the same clientMsgId (an answer lost with the process may hide a stored message).
      await Promise.all(
        writers.map(async (wr, i) => {
          let current = i % 2;
          for (let k = 0; k < perWriter; k++) {
            const clientMsgId = `${wr.id}-${k}`;
            for (let attempt = 0; ; attempt++) {
              const r = await children[current].api('POST', `/api/channels/${ch.id}/messages`, { token: wr.token, body: { content: `w${i} ${k}`, clientMsgId } }).catch(() => null);
              if (r && (r.status === 201 || r.status === 200)) break;
              if (!r) {
                networkErrors.count++;
                current = 1 - current;
              }
              if (attempt > 50) throw new Error(`post failed: ${r?.status} ${JSON.stringify(r?.body)}`);
              await sleep(50);
            }
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
      expect(networkErrors.count).toBeGreaterThan(0);

      const stored: { seq: number; clientMsgId: string }[] = [];
      for (let more = true; more; ) {
        const page = await children[1].api('GET', `/api/channels/${ch.id}/messages?after=${stored.at(-1)?.seq ?? 0}&limit=100`, { token: w.owner.token });
        expect(page.status).toBe(200);
        stored.push(...page.body.messages);
        more = page.body.hasMore;
      }
      const expectedIds = writers.flatMap((wr) => Array.from({ length: perWriter }, (_, k) => `${wr.id}-${k}`));
      expect(stored.map((m) => m.clientMsgId).sort(), '0 lost, 0 duplicated').toEqual(expectedIds.sort());
      expect(stored.map((m) => m.seq), '0 seq gaps').toEqual(Array.from({ length: total }, (_, i) => i + 1));

      const last = (await children[1].api('GET', `/api/channels/${ch.id}`, { token: w.owner.token })).body.channel.eventPos as number;
      expect(last).toBe(total);
      await waitFor('every event at every subscriber', async () => (subs.every((s) => s.last() >= last) ? true : undefined), 30_000);
      await sleep(300);
      subs.forEach((s, i) => {
        expectExactStream(`subscriber ${i}`, s.got, last);
        expect(s.got.map((e) => e.seq), `subscriber ${i}: every message once`).toEqual(Array.from({ length: total }, (_, j) => j + 1));
      });
    } finally {
      for (const s of subs) s.socket.close();
      await Promise.all(children.map((c) => c.child.stop()));
      await realtime.close();
      await center.close();
      await db.drop();
    }
  }, 90_000);
});
