/**
 * A member removed from a channel gets nothing of the channel committed after its removal, on
 * every realtime process, whatever fails between the processes, and a member removed and added
 * back at once is not taken out of the room again: the sockets leave the channel's rooms at the
 * removal's own channel event (`channel.updated` with `leaveRooms`), in the stream's order,
 * whichever way the event reaches a process (its hand-over, Redis, the log). Split mode with
 * one and two API processes, a lost and a slow hand-over; two realtime processes sharing a
 * private Redis, up, down, and busy with a long replay.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { startApiProcess, startRealtimeProcess } from '../scripts/processes.js';
import {
  connectSocket,
  createChannel,
  emitAck,
  freePort,
  privateBackends,
  recordEvents,
  restFixture,
  seedGuild,
  sleep,
  spawnNode,
  startTestNode,
  waitFor,
  type RestFixture,
  type TestNode,
  type TestUser,
} from './helpers/harness.js';
import type { Socket } from 'socket.io-client';
import { startPrivateRedis } from './helpers/private-redis.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
}, 60_000);
afterAll(async () => t?.close());

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

/** A guild, a private channel with one member, and that member's socket on `realtimeUrl`, joined to it and recording messages. */
async function privateChannelWithMember(node: RestFixture, realtimeUrl: string, name = 'secret') {
  const { owner, members, guildId } = await seedGuild(node, 1);
  const m1 = members[0];
  const ch = await createChannel(node, owner.token, { guildId, name, xType: 'general', isPublic: false, memberUserIds: [m1.id] });
  const sock = await connectSocket(realtimeUrl, m1.token);
  const msgs = recordEvents<{ content: string }>(sock, 'message.created');
  expect((await emitAck(sock, 'join_channel', { channelId: ch.id })).ok).toBe(true);
  return { owner, m1, ch, sock, msgs };
}

/**
 * One realtime process and API processes on the test node's database, each API process
 * handing over through its own TCP proxy (`delayMs` slows it; `drop()` cuts it).
 */
async function startSplit(apis: { delayMs?: number }[], realtimeSettings: { tokenCacheSeconds?: number } = {}) {
  const secret = 'removal-secret';
  const realtime = await startRealtimeProcess({
    ...t.node.ctx.config,
    ...realtimeSettings,
    realtimePort: 0,
    realtimeInternalPort: 0,
    internalSecret: secret,
    logLevel: 'silent' as const,
  });
  const proxies = await Promise.all(apis.map((a) => startTcpProxy({ host: '127.0.0.1', port: realtime.internalPort }, a.delayMs ? { delayMs: a.delayMs } : undefined)));
  const started = await Promise.all(
    proxies.map((proxy) =>
      startApiProcess(
        { ...t.node.ctx.config, port: 0, realtimeInternalUrl: proxy.url('http'), internalSecret: secret, emitTimeoutMs: 500, logLevel: 'silent' as const },
        { heartbeat: false, jobs: false },
      ),
    ),
  );
  return {
    realtime,
    proxies,
    apis: started.map((api) => ({ api, node: restFixture(api.url, t.center) })),
    async close() {
      for (const a of started) await a.close();
      await realtime.close();
      for (const p of proxies) await p.close();
    },
  };
}

describe('split mode: API processes and one realtime process', () => {
  it('a member removed while the internal call fails stops receiving the private channel', async () => {
    const split = await startSplit([{}]);
    const [{ api, node }] = split.apis;
    const [proxy] = split.proxies;
    const realtime = split.realtime;
    try {
      const { owner, m1, ch, sock, msgs } = await privateChannelWithMember(node, realtime.url);
      const left = recordEvents(sock, 'channel.left');

      proxy.drop(); // the realtime process's internal listener is unreachable for a moment
      const del = await node.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token });
      expect(del.status).toBe(204);
      await api.ctx.emitter.flush();
      proxy.restore();

      // channel.left comes from the log (as the contract says)...
      await waitFor('channel.left from the log', async () => (left.length > 0 ? true : undefined), 10_000);
      // ...and the socket left the room at the removal's channel event, which came from the log too.
      const post = await node.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'private after removal' } });
      expect(post.status).toBe(201);
      await sleep(2500);
      expect(msgs.map((m) => m.content)).toEqual([]);
      sock.close();
    } finally {
      await split.close();
    }
  }, 60_000);

  it('a post made after a removal on another API process never reaches the removed member', async () => {
    // API 1's hand-overs take 400 ms longer to get there (a busy network path / a backlog).
    const split = await startSplit([{ delayMs: 400 }, {}]);
    const [{ node: node1 }, { node: node2 }] = split.apis;
    const realtime = split.realtime;
    try {
      const { owner, m1, ch, sock, msgs } = await privateChannelWithMember(node2, realtime.url);
      await node2.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'before removal' } });

      const del = await node1.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token });
      expect(del.status).toBe(204);
      const post = await node2.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'private after removal' } });
      expect(post.status).toBe(201);
      await sleep(1500);
      expect(msgs.map((m) => m.content)).toEqual(['before removal']);
      sock.close();
    } finally {
      await split.close();
    }
  }, 60_000);

  it('a member removed and added back keeps receiving the channel', async () => {
    const split = await startSplit([{ delayMs: 400 }, {}]);
    const [{ node: node1 }, { node: node2 }] = split.apis;
    const realtime = split.realtime;
    try {
      const { owner, m1, ch, sock, msgs } = await privateChannelWithMember(node2, realtime.url, 'team');
      const membership: string[] = [];
      // The plugin contract of realtime.md.
      sock.on('channel.joined', (m: { channelId: string; pos: number }) => {
        membership.push(`joined@${m.pos}`);
        sock.emit('join_channel', { channelId: m.channelId }, (ack: unknown) => membership.push(`join ack ${JSON.stringify(ack)}`));
      });
      sock.on('channel.left', (m: { channelId: string; pos: number }) => {
        membership.push(`left@${m.pos}`);
        sock.emit('leave_channel', { channelId: m.channelId }, () => undefined);
      });

      expect((await node1.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token })).status).toBe(204);
      expect((await node2.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [m1.id] } })).status).toBe(200);
      await sleep(1500);
      expect((await node2.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'for the member again' } })).status).toBe(201);
      await sleep(1500);
      expect(membership).toEqual([expect.stringMatching(/^left@/), expect.stringMatching(/^joined@/), expect.stringMatching(/^join ack \{"ok":true/)]);
      expect(msgs.map((m) => m.content)).toEqual(['for the member again']);
      sock.close();
    } finally {
      await split.close();
    }
  }, 60_000);
});

/**
 * A reader who is no member of a channel loses access without a channel event (an admin
 * demoted, a member removed from the guild): its sockets leave through a room change sent after
 * the commit. When that hand-over is lost, the realtime process's access sweep (on the token
 * cache's schedule, here 0.5 s) takes them out.
 */
interface Subscriber extends TestUser {
  sock: Socket;
  got: { content: string }[];
  presence: { userId: string }[];
}
interface ReaderAndMember {
  split: Awaited<ReturnType<typeof startSplit>>;
  node: RestFixture;
  owner: TestUser;
  guildId: string;
  reader: Subscriber;
  member: Subscriber;
  /** The guild's other members, with no socket yet. */
  others: TestUser[];
  post(content: string): Promise<void>;
  connect(token: string): Promise<Socket>;
}

describe('readers who lose access while the hand-over fails', () => {
  /** Cuts the hand-over, runs `change`, waits past two sweeps, restores it. */
  async function whileHandoverLost(split: Awaited<ReturnType<typeof startSplit>>, change: () => Promise<void>) {
    split.proxies[0].drop();
    await change();
    await split.apis[0].api.ctx.emitter.flush();
    await sleep(1500);
    split.proxies[0].restore();
  }

  /**
   * Split mode with a 0.5 s sweep; a guild of 2 + `extra` members: `reader` (no member of the
   * channel; a guild admin with `readerAdmin`) and `member` (its member), both with a socket
   * joined to it, recording messages and presence. `fn` gets them; everything is closed after.
   */
  async function readerAndMember(opts: { isPublic: boolean; readerAdmin?: boolean; extra?: number }, fn: (s: ReaderAndMember) => Promise<void>) {
    const split = await startSplit([{}], { tokenCacheSeconds: 0.5 });
    const [{ node }] = split.apis;
    const sockets: Socket[] = [];
    try {
      const { owner, members, guildId } = await seedGuild(node, 2 + (opts.extra ?? 0));
      const [reader, member, ...others] = members;
      const ch = await createChannel(node, owner.token, { guildId, name: 'room', xType: 'general', isPublic: opts.isPublic, memberUserIds: [member.id] });
      if (opts.readerAdmin) expect((await node.api('PATCH', `/api/guilds/${guildId}/members/${reader.id}`, { token: owner.token, body: { role: 'admin' } })).status).toBe(200);
      const socketOf = async (token: string) => {
        const sock = await connectSocket(split.realtime.url, token);
        sockets.push(sock);
        return { sock, got: recordEvents<{ content: string }>(sock, 'message.created'), presence: recordEvents<{ userId: string }>(sock, 'presence') };
      };
      const [r, m] = [await socketOf(reader.token), await socketOf(member.token)];
      for (const { sock } of [r, m]) expect((await emitAck(sock, 'join_channel', { channelId: ch.id })).ok).toBe(true);
      const post = async (content: string) => expect((await node.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content } })).status).toBe(201);
      await fn({ split, node, owner, guildId, reader: { ...reader, ...r }, member: { ...member, ...m }, others, post, connect: (token) => socketOf(token).then((x) => x.sock) });
    } finally {
      for (const s of sockets) s.close();
      await split.close();
    }
  }

  it('a demoted admin stops receiving the private channel it is not a member of', async () => {
    await readerAndMember({ isPublic: false, readerAdmin: true }, async ({ split, node, owner, guildId, reader, member, post }) => {
      await post('before');
      await waitFor('the first message on both sockets', async () => (reader.got.length === 1 && member.got.length === 1 ? true : undefined), 10_000);

      await whileHandoverLost(split, async () => {
        expect((await node.api('PATCH', `/api/guilds/${guildId}/members/${reader.id}`, { token: owner.token, body: { role: 'member' } })).status).toBe(200);
      });
      await post('after the demotion');
      await waitFor('the member still receives', async () => (member.got.length === 2 ? true : undefined), 10_000);
      await sleep(500);
      expect(reader.got.map((m) => m.content)).toEqual(['before']);
      expect(member.got.map((m) => m.content)).toEqual(['before', 'after the demotion']);
    });
  }, 60_000);

  it('a member removed from the guild stops receiving the public channels it read and the guild presence', async () => {
    await readerAndMember({ isPublic: true, extra: 1 }, async ({ split, node, owner, guildId, reader, member, others, post, connect }) => {
      await whileHandoverLost(split, async () => {
        expect((await node.api('DELETE', `/api/guilds/${guildId}/members/${reader.id}`, { token: owner.token })).status).toBe(204);
      });
      await post('after the removal');
      const [late] = others;
      await connect(late.token); // comes online: presence to the guild
      await waitFor('the member still receives', async () => (member.got.length === 1 && member.presence.some((p) => p.userId === late.id) ? true : undefined), 10_000);
      await sleep(500);
      expect(reader.got).toEqual([]);
      expect(reader.presence.filter((p) => p.userId === late.id)).toEqual([]);
    });
  }, 60_000);

  it('a user added to the guild gets its presence on the sockets it had open', async () => {
    const split = await startSplit([{}], { tokenCacheSeconds: 0.5 });
    const [{ node }] = split.apis;
    const sockets: Socket[] = [];
    try {
      const { owner, members, guildId } = await seedGuild(node, 1);
      const newcomer = await node.centerApi.user('member');
      const sock = await connectSocket(split.realtime.url, newcomer.token);
      sockets.push(sock);
      const presence = recordEvents<{ userId: string; status: string }>(sock, 'presence');
      await whileHandoverLost(split, async () => {
        expect((await node.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [newcomer.id] } })).status).toBe(200);
      });
      sockets.push(await connectSocket(split.realtime.url, members[0].token)); // comes online: presence to the guild
      await waitFor('presence of the member who came online', async () => (presence.some((p) => p.userId === members[0].id) ? true : undefined), 5_000);
      expect(presence.filter((p) => p.userId === members[0].id)).toEqual([{ userId: members[0].id, status: 'online' }]);
    } finally {
      for (const s of sockets) s.close();
      await split.close();
    }
  }, 60_000);

  it('a reader who keeps access keeps receiving through the sweeps', async () => {
    await readerAndMember({ isPublic: true }, async ({ reader, post }) => {
      await sleep(1500);
      await post('still here');
      await waitFor('the reader still receives', async () => (reader.got.length === 1 ? true : undefined), 10_000);
    });
  }, 60_000);
});

describe('two realtime processes sharing Redis', () => {
  it('a member removed while Redis is down stops receiving the private channel on the other realtime process', async () => {
    const redis = await startPrivateRedis();
    const secret = 'redis-secret';
    const config = { ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret, redisUrl: redis.url, logLevel: 'silent' as const };
    const [a, b] = [await startRealtimeProcess(config), await startRealtimeProcess(config)];
    const api = await startApiProcess(
      { ...t.node.ctx.config, port: 0, realtimeInternalUrl: `http://127.0.0.1:${a.internalPort}`, internalSecret: secret, logLevel: 'silent' as const },
      { heartbeat: false, jobs: false },
    );
    const node = restFixture(api.url, t.center);
    try {
      const { owner, m1, ch, sock, msgs } = await privateChannelWithMember(node, b.url);
      const left = recordEvents(sock, 'channel.left');

      redis.kill();
      await sleep(300);
      const del = await node.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token });
      expect(del.status).toBe(204);
      await waitFor('channel.left from the log', async () => (left.length > 0 ? true : undefined), 10_000);
      const post = await node.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'private after removal' } });
      expect(post.status).toBe(201);
      await sleep(2500);
      redis.restart();
      await sleep(1500);
      const post2 = await node.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'private after redis back' } });
      expect(post2.status).toBe(201);
      await sleep(2000);
      expect(msgs.map((m) => m.content)).toEqual([]);
      sock.close();
    } finally {
      await api.close();
      await Promise.all([a.close(), b.close()]);
      redis.kill();
    }
  }, 60_000);

  it('the turn.updated of a removal reaches the removed member on both processes', async () => {
    const redis = await startPrivateRedis();
    const secret = 'redis-secret-2';
    const config = { ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret, redisUrl: redis.url, logLevel: 'silent' as const };
    const [a, b] = [await startRealtimeProcess(config), await startRealtimeProcess(config)];
    const api = await startApiProcess(
      { ...t.node.ctx.config, port: 0, realtimeInternalUrl: `http://127.0.0.1:${a.internalPort}`, internalSecret: secret, logLevel: 'silent' as const },
      { heartbeat: false, jobs: false },
    );
    const node = restFixture(api.url, t.center);
    const results: Record<string, { onA: number; onB: number }> = {};
    try {
      for (let round = 0; round < 5; round++) {
        const { owner, members, guildId } = await seedGuild(node, 2);
        const [m1, m2] = members;
        const ch = await createChannel(node, owner.token, { guildId, name: 'd', xType: 'discuss', isPublic: false, memberUserIds: [m1.id, m2.id] });
        const onA = await connectSocket(a.url, m1.token);
        const onB = await connectSocket(b.url, m1.token);
        const turnsA = recordEvents<{ reason: string; pos: number }>(onA, 'turn.updated');
        const turnsB = recordEvents<{ reason: string; pos: number }>(onB, 'turn.updated');
        const leftB = recordEvents(onB, 'channel.left');
        expect((await emitAck(onA, 'join_channel', { channelId: ch.id })).ok).toBe(true);
        expect((await emitAck(onB, 'join_channel', { channelId: ch.id })).ok).toBe(true);
        const del = await node.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token });
        expect(del.status).toBe(204);
        await waitFor('channel.left on B', async () => (leftB.length > 0 ? true : undefined), 10_000);
        await sleep(1500);
        results[round] = { onA: turnsA.filter((x) => x.reason === 'membership').length, onB: turnsB.filter((x) => x.reason === 'membership').length };
        onA.close();
        onB.close();
      }
      console.log(JSON.stringify(results));
      for (const r of Object.values(results)) expect(r.onB).toBe(r.onA);
    } finally {
      await api.close();
      await Promise.all([a.close(), b.close()]);
      redis.kill();
    }
  }, 90_000);

  it('no message posted after the removal reaches the removed member on the other process', async () => {
    const redis = await startPrivateRedis();
    cleanup.push(async () => redis.kill());
    const backends = await privateBackends();
    cleanup.push(() => backends.close());
    const env = backends.env({
      FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'race-secret',
      FABRIC_BACKEND_GUILD_REDIS_URL: redis.url,
      FABRIC_BACKEND_GUILD_LOG_LEVEL: 'silent',
    });
    const [aPort, aInternal] = [await freePort(), await freePort()];
    // In process (migrates the database): the API and B.
    const api = await startApiProcess(loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${aInternal}` }), { heartbeat: false, jobs: false });
    cleanup.push(async () => void (await api.close()));
    const b = await startRealtimeProcess(loadConfig({ ...env, FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0' }));
    cleanup.push(async () => void (await b.close()));
    const a = spawnNode('scripts/realtime.ts', {
      ...env,
      FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info',
      FABRIC_BACKEND_GUILD_DB_SYNC: 'false',
      FABRIC_BACKEND_GUILD_REALTIME_PORT: String(aPort),
      FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: String(aInternal),
    });
    cleanup.push(() => a.stop());
    await a.waitForLog('guild node realtime listening', 60_000);
    const aUrl = `http://127.0.0.1:${aPort}`;
    const node = restFixture(api.url, backends.center);

    const { owner, members, guildId } = await seedGuild(node, 1);
    const m1 = members[0];
    const ch = await createChannel(node, owner.token, { guildId, name: 'secret', xType: 'general', isPublic: false, memberUserIds: [m1.id] });
    for (let i = 0; i < 40; i++) {
      await Promise.all(Array.from({ length: 50 }, (_, k) => node.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: `old ${i}-${k}` } })));
    }
    const victim = await connectSocket(b.url, m1.token);
    const got = recordEvents<{ content: string }>(victim, 'message.created');
    expect((await emitAck(victim, 'join_channel', { channelId: ch.id })).ok).toBe(true);
    const readers = await Promise.all(Array.from({ length: 20 }, () => connectSocket(aUrl, owner.token)));
    const t0 = Date.now();
    // Owner sockets on A replay the whole log: A's queue on the channel is busy meanwhile.
    const joins = readers.map((s) => emitAck(s, 'join_channel', { channelId: ch.id, since: 0 }));
    await sleep(150);
    const del = await node.api('DELETE', `/api/channels/${ch.id}/members/${m1.id}`, { token: owner.token });
    expect(del.status).toBe(204);
    const post = await node.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'private after removal' } });
    expect(post.status).toBe(201);
    const posted = Date.now() - t0;
    await Promise.all(joins);
    console.log('posted after', posted, 'ms; joins done after', Date.now() - t0, 'ms');
    await sleep(1500);
    expect(got.map((m) => m.content)).toEqual([]);
    victim.close();
    for (const s of readers) s.close();
  }, 120_000);
});
