/**
 * Streams, positions and resume (realtime.md): the durable event log behind every channel
 * and user stream, seen through real sockets and REST on an all-in-one node, and an API
 * process whose hand-over never arrives (the realtime process delivers from the log).
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trimLog } from '../lib/realtime/event-log.js';
import { startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import { apiClient, connectSocket, createChannel, emitAck, recordEvents, sleep, startTestNode, waitFor, type TestNode } from './helpers/harness.js';
import { post } from './helpers/messages.js';
import { seedWorld, type World } from './helpers/world.js';

let t: TestNode;
let w: World;
const extraSockets: Socket[] = [];

beforeAll(async () => {
  t = await startTestNode();
  w = await seedWorld(t);
}, 60_000);
afterAll(async () => {
  for (const s of extraSockets) s.close();
  await t?.close();
});

/** Every event a socket receives on a channel stream, in arrival order. */
function recordStream(socket: Socket) {
  const seen: { event: string; data: any }[] = [];
  for (const event of ['message.created', 'message.updated', 'message.deleted', 'turn.updated', 'canvas.updated', 'canvas.removed', 'channel.updated']) {
    socket.on(event, (data: any) => seen.push({ event, data }));
  }
  return seen;
}

const eventPos = async (channelId: string, token: string) => (await t.api('GET', `/api/channels/${channelId}`, { token })).body.channel.eventPos as number;

describe('stream positions', () => {
  it('numbers every event of a channel 1, 2, 3 … across event types; the join ack and eventPos tell the current position', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'pos', xType: 'general', memberUserIds: [w.m2.id] });
    expect(await eventPos(ch.id, w.m1.token)).toBe(0);
    const s = await t.socket(w.m2.token);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: 0 });
    const seen = recordStream(s);
    const m = await post(t, w.m1.token, ch.id, 'one');
    expect((await t.api('PATCH', `/api/messages/${m.id}`, { token: w.m1.token, body: { content: 'one, edited' } })).status).toBe(200);
    expect((await t.api('PATCH', `/api/channels/${ch.id}`, { token: w.m1.token, body: { topic: 'numbers' } })).status).toBe(200);
    expect((await t.api('DELETE', `/api/messages/${m.id}`, { token: w.m1.token })).status).toBe(204);
    await waitFor('four events', async () => (seen.length >= 4 ? true : undefined), 5000);
    expect(seen.map((e) => [e.event, e.data.pos])).toEqual([
      ['message.created', 1],
      ['message.updated', 2],
      ['channel.updated', 3],
      ['message.deleted', 4],
    ]);
    expect(await eventPos(ch.id, w.m1.token)).toBe(4);
    const listed = (await t.api('GET', `/api/channels?guildId=${w.guildId}`, { token: w.m1.token })).body.channels.find((c: any) => c.id === ch.id);
    expect(listed.eventPos).toBe(4);
    const late = await t.socket(w.m1.token);
    expect(await emitAck(late, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: 4 });
  });

  it('numbers each user stream: channel.joined and channel.left carry consecutive positions per user', async () => {
    const s = await t.socket(w.m3.token);
    const joined = recordEvents(s, 'channel.joined');
    const left = recordEvents(s, 'channel.left');
    const first = await emitAck<any>(s, 'resume_user', { since: 0 });
    expect(first).toMatchObject({ ok: true });
    const base = first.pos as number;
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'user-stream', xType: 'general', memberUserIds: [w.m3.id] });
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${w.m3.id}`, { token: w.m1.token })).status).toBe(204);
    await waitFor('joined and left', async () => (joined.length + left.length >= 2 ? true : undefined), 5000);
    expect(joined.filter((e) => e.channelId === ch.id).map((e) => e.pos)).toEqual([base + 1]);
    expect(left.filter((e) => e.channelId === ch.id).map((e) => e.pos)).toEqual([base + 2]);
  });
});

describe('join_channel {channelId, since}', () => {
  it('replays exactly the missed events (replayed: true, each recipient its own wakeup), then live ones, with no gap or duplicate', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'resume', xType: 'general', memberUserIds: [w.m2.id] });
    const first = await t.socket(w.m2.token);
    const before = recordStream(first);
    await emitAck(first, 'join_channel', { channelId: ch.id });
    await post(t, w.m1.token, ch.id, 'seen');
    await waitFor('the first event', async () => (before.length === 1 ? true : undefined), 5000);
    const lastSeen = before[0].data.pos as number;
    first.close();
    for (const c of ['missed 1', 'missed 2', 'missed 3']) await post(t, w.m1.token, ch.id, c);
    const again = await t.socket(w.m2.token);
    const reader = await t.socket(w.owner.token); // reads the channel without being a member: never woken
    const seen = recordStream(again);
    const readerSeen = recordStream(reader);
    // Posts racing the joins: each must arrive once, replayed or live.
    const racing = post(t, w.m1.token, ch.id, 'during the join');
    const ack = await emitAck<any>(again, 'join_channel', { channelId: ch.id, since: lastSeen });
    expect(ack).toEqual({ ok: true, pos: expect.any(Number) });
    expect(await emitAck(reader, 'join_channel', { channelId: ch.id, since: lastSeen })).toEqual({ ok: true, pos: expect.any(Number) });
    await racing;
    await post(t, w.m1.token, ch.id, 'live');
    await waitFor('every event', async () => (seen.length >= 5 && readerSeen.length >= 5 ? true : undefined), 5000);
    for (const [events, woken] of [
      [seen, true],
      [readerSeen, false],
    ] as const) {
      expect(events.map((e) => e.data.pos)).toEqual([lastSeen + 1, lastSeen + 2, lastSeen + 3, lastSeen + 4, lastSeen + 5]);
      expect(events.slice(0, 3).map((e) => [e.data.content, e.data.replayed, e.data.wakeup])).toEqual([
        ['missed 1', true, woken],
        ['missed 2', true, woken],
        ['missed 3', true, woken],
      ]);
      expect(events[4]).toMatchObject({ event: 'message.created', data: { content: 'live', wakeup: woken } });
      expect(events[4].data.replayed).toBeUndefined();
      // Replayed events are what the live ones were: same message, same createdAt.
      const listed = (await t.api('GET', `/api/channels/${ch.id}/messages?after=0`, { token: w.m1.token })).body.messages;
      const missed = listed.find((m: any) => m.content === 'missed 2');
      const { replayed: _r, wakeup: _w, wakeReason: _wr, pos: _p, ...replayedMessage } = events[1].data;
      expect(replayedMessage).toEqual(missed);
    }
  });

  it('many sockets joining one channel at once, with posts and removals racing: each gets the missed events then live ones, once and in order; a removed member none after its removal', async () => {
    // Ten members removed one by one while the joins are in flight, so that some removals land between a join's first check and its step.
    const leaving: { id: string; token: string }[] = [];
    for (let i = 0; i < 10; i++) leaving.push(await t.centerApi.user('leaving'));
    const added = await t.api('POST', `/api/guilds/${w.guildId}/members`, { token: w.owner.token, body: { userIds: leaving.map((u) => u.id), role: 'member' } });
    expect(added.status).toBe(200);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'rejoin', xType: 'general', memberUserIds: [w.m2.id, ...leaving.map((u) => u.id)] });
    for (let i = 1; i <= 8; i++) await post(t, w.m1.token, ch.id, `before ${i}`);
    // 30 sockets of a member that stays (since 0..8 or none), one of each leaving member.
    const joiners = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const socket = await t.socket(i < 30 ? w.m2.token : leaving[i - 30].token);
        const seen: { pos: number; content?: string }[] = [];
        // Channel stream events only: the user stream's channel.joined/left carry positions of another stream.
        socket.onAny((event: string, data: any) => {
          if ((data?.channelId ?? data?.channel?.id) === ch.id && typeof data.pos === 'number' && event !== 'channel.joined' && event !== 'channel.left')
            seen.push({ pos: data.pos, content: data.content });
        });
        return { socket, seen, since: i % 10 === 9 ? undefined : i % 9 };
      }),
    );
    const racing = (async () => {
      for (let i = 1; i <= 6; i++) await post(t, w.m1.token, ch.id, `during ${i}`);
    })();
    const removals = (async () => {
      for (const u of leaving) expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${u.id}`, { token: w.m1.token })).status).toBe(204);
    })();
    const acks: any[] = await Promise.all(
      joiners.map((j) => emitAck(j.socket, 'join_channel', j.since === undefined ? { channelId: ch.id } : { channelId: ch.id, since: j.since })),
    );
    await Promise.all([racing, removals]);
    for (let i = 1; i <= 3; i++) await post(t, w.m1.token, ch.id, `after ${i}`);
    const last = await eventPos(ch.id, w.m1.token);
    const stays = joiners.slice(0, 30);
    await waitFor('every event at the member that stays', async () => (stays.every((j) => j.seen.at(-1)?.pos === last) ? true : undefined), 10_000);
    for (const [i, j] of stays.entries()) {
      expect(acks[i]).toEqual({ ok: true, pos: expect.any(Number) });
      const from = (j.since ?? acks[i].pos) + 1;
      expect(j.seen.map((e) => e.pos)).toEqual(Array.from({ length: last - from + 1 }, (_, k) => from + k));
    }
    // The removed members' sockets: refused, or in order without duplicates until taken out of the room by the removal.
    for (const [i, j] of joiners.slice(30).entries()) {
      if (!acks[30 + i].ok) expect(acks[30 + i].error.code).toBe('not_found');
      const positions = j.seen.map((e) => e.pos);
      expect(positions).toEqual([...new Set(positions)].sort((a, b) => a - b));
      expect(j.seen.filter((e) => e.content?.startsWith('after '))).toEqual([]);
    }
  });

  it('replays a range longer than a page of the log in order, each event once', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'long-replay', xType: 'general' });
    for (let i = 0; i < 12; i++) await Promise.all(Array.from({ length: 50 }, (_, j) => post(t, w.m1.token, ch.id, `p${i * 50 + j}`)));
    const s = await t.socket(w.m1.token);
    const seen = recordStream(s);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id, since: 0 })).toEqual({ ok: true, pos: 600 });
    await waitFor('600 replayed events', async () => (seen.length >= 600 ? true : undefined), 10_000);
    expect(seen.map((e) => e.data.pos)).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    expect(seen.every((e) => e.data.replayed === true)).toBe(true);
  });

  it('closes a socket that asks for replays and reads none of them, and keeps serving', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'unread-replay', xType: 'general' });
    // About 5 MB of log: 300 events of 16,000 characters.
    for (let i = 0; i < 6; i++) await Promise.all(Array.from({ length: 50 }, (_, j) => post(t, w.m1.token, ch.id, `${i * 50 + j} `.padEnd(16_000, 'x'))));
    const s = await t.socket(w.owner.token); // the guild's owner reads every channel
    const server = t.node.realtime.nsp.sockets.get(s.id!)!;
    const closed = new Promise<string>((resolve) => server.once('disconnect', resolve));
    // The client stops reading its connection (socket.io-client's websocket in Node is a `ws` over a TCP socket).
    (s.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
    // Each join would replay the whole log: 40 of them, 200 MB, were held in memory unsent.
    for (let i = 0; i < 40; i++) s.emit('join_channel', { channelId: ch.id, since: 0 });
    expect(await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('still open after 20 s'), 20_000))])).toBe('server namespace disconnect');
    expect((await t.api('GET', '/api/health')).status).toBe(200);
    s.close();
  });

  it('answers bad_request for a since above the current position, and for a since that is not an integer >= 0', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'ahead', xType: 'general' });
    await post(t, w.m1.token, ch.id, 'x');
    const s = await t.socket(w.m1.token);
    for (const since of [2, -1, 1.5, 'one']) {
      expect(await emitAck<any>(s, 'join_channel', { channelId: ch.id, since })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    for (const since of [5, -1]) expect(await emitAck<any>(s, 'resume_user', { since: since === 5 ? 1e9 : since })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await emitAck(s, 'join_channel', { channelId: ch.id, since: 1 })).toEqual({ ok: true, pos: 1 });
  });
});

describe("leave_channel during the join's replay", () => {
  it('ends the replay: no page goes out after the leave', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'long replay', xType: 'general', memberUserIds: [w.m2.id] });
    for (let i = 0; i < 32; i++) await Promise.all(Array.from({ length: 64 }, (_, k) => post(t, w.m1.token, ch.id, `old ${i}-${k}`)));
    const s = await t.socket(w.m2.token);
    let got = 0;
    let left: Promise<unknown> | undefined;
    s.on('message.created', () => {
      got++;
      left ??= emitAck(s, 'leave_channel', { channelId: ch.id }); // after the first replayed event
    });
    await emitAck(s, 'join_channel', { channelId: ch.id, since: 0 });
    await left;
    await sleep(300);
    // 2,048 events, 256 a page: the page in flight when the leave arrived, and perhaps the next, at most.
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(768);
  });
});

describe('retention', () => {
  let small: TestNode;
  beforeAll(async () => {
    // Hours rule off, the last 3 events of each stream kept, trimmed every second.
    small = await startTestNode({
      env: { FABRIC_BACKEND_GUILD_EVENT_RETENTION_HOURS: '0', FABRIC_BACKEND_GUILD_EVENT_RETENTION_EVENTS: '3', FABRIC_BACKEND_GUILD_EVENT_TRIM_CRON: '* * * * * *' },
    });
  }, 60_000);
  afterAll(async () => small?.close());

  it('answers resync: true, and replays nothing, for a position older than the retained events; replays what is retained', async () => {
    const world = await seedWorld(small);
    const ch = await createChannel(small, world.m1.token, { guildId: world.guildId, name: 'short', xType: 'general' });
    for (let i = 1; i <= 6; i++) await post(small, world.m1.token, ch.id, `m${i}`);
    const probe = await small.socket(world.m1.token);
    await waitFor('the trim', async () => ((await emitAck<any>(probe, 'join_channel', { channelId: ch.id, since: 0 })).resync ? true : undefined), 15_000, 300);
    const s = await small.socket(world.m1.token);
    const seen = recordStream(s);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id, since: 0 })).toEqual({ ok: true, pos: 6, resync: true });
    expect(seen).toEqual([]);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id, since: 3 })).toEqual({ ok: true, pos: 6 });
    await waitFor('the replay', async () => (seen.length === 3 ? true : undefined), 5000);
    expect(seen.map((e) => [e.data.content, e.data.pos, e.data.replayed])).toEqual([
      ['m4', 4, true],
      ['m5', 5, true],
      ['m6', 6, true],
    ]);
  });
});

describe('delivery from the log', () => {
  let realtime: RunningProcess & { internalPort: number };
  let api: RunningProcess;
  beforeAll(async () => {
    realtime = await startRealtimeProcess({ ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: 'log-secret' });
    // Its hand-overs go nowhere (nothing listens on port 1): only the log can bring its events.
    api = await startApiProcess(
      { ...t.node.ctx.config, port: 0, realtimeInternalUrl: 'http://127.0.0.1:1', internalSecret: 'log-secret', logLevel: 'silent' },
      { heartbeat: false, jobs: false },
    );
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await realtime?.close();
  });

  it('delivers, in order and once, events an API process never handed over, though the channel then stays quiet', async () => {
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'lost', xType: 'general', memberUserIds: [w.m2.id] });
    const s = await connectSocket(realtime.url, w.m2.token);
    extraSockets.push(s);
    expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: 0 });
    const seen = recordStream(s);
    const viaApi = apiClient(api.url);
    for (const c of ['a', 'b', 'c']) expect((await viaApi('POST', `/api/channels/${ch.id}/messages`, { token: w.m1.token, body: { content: c } })).status).toBe(201);
    await waitFor('the events from the log', async () => (seen.length >= 3 ? true : undefined), 10_000);
    expect(seen.map((e) => [e.data.content, e.data.pos, e.data.wakeup])).toEqual([
      ['a', 1, true],
      ['b', 2, true],
      ['c', 3, true],
    ]);
  });

  it('takes a socket whose join_channel is refused out of the channel, though the room change of its lost access never arrived', async () => {
    const admin = await t.centerApi.user('demoted');
    expect((await t.api('POST', `/api/guilds/${w.guildId}/members`, { token: w.owner.token, body: { userIds: [admin.id], role: 'admin' } })).status).toBe(200);
    const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: 'private', xType: 'general' });
    const reader = await connectSocket(realtime.url, admin.token);
    const witness = await connectSocket(realtime.url, w.m1.token);
    extraSockets.push(reader, witness);
    for (const s of [reader, witness]) expect(await emitAck(s, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: 0 });
    const readerSaw = recordStream(reader);
    const witnessSaw = recordStream(witness);
    // Demoted through the API process whose hand-overs are lost: the room change never reaches the realtime process.
    const viaApi = apiClient(api.url);
    expect((await viaApi('PATCH', `/api/guilds/${w.guildId}/members/${admin.id}`, { token: w.owner.token, body: { role: 'member' } })).status).toBe(200);
    expect(await emitAck(reader, 'join_channel', { channelId: ch.id })).toEqual({ ok: false, error: { code: 'not_found', message: expect.any(String) } });
    await post(t, w.m1.token, ch.id, 'members only');
    await waitFor('the post at the witness', async () => (witnessSaw.length >= 1 ? true : undefined), 10_000);
    expect(readerSaw).toEqual([]);
  });

  it('answers GET /health and GET /ready on the realtime process public port', async () => {
    const health = await fetch(`${realtime.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', nodeId: t.node.ctx.config.nodeId, role: 'realtime' });
    const ready = await fetch(`${realtime.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    expect((await fetch(`${realtime.url}/nothing`)).status).toBe(404);
  });

  it('refuses to start an API process in split mode without REALTIME_INTERNAL_URL (unless it is none)', async () => {
    await expect(startApiProcess({ ...t.node.ctx.config, port: 0, realtimeInternalUrl: undefined }, { heartbeat: false, jobs: false })).rejects.toThrow(/REALTIME_INTERNAL_URL/);
  });
});

describe('the trim', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode(); // default retention: its own schedule deletes nothing here
  }, 60_000);
  afterAll(async () => node?.close());

  const positions = async (channelId: string) =>
    (await node.node.ctx.database.db.selectFrom('channel_events').select('pos').where('channel_id', '=', channelId).orderBy('pos').execute()).map((r) => Number(r.pos));

  it('keeps the last events of each stream and everything younger than the age rule', async () => {
    const world = await seedWorld(node);
    const ch = await createChannel(node, world.m1.token, { guildId: world.guildId, name: 'trimmed', xType: 'general' });
    for (let i = 1; i <= 8; i++) await post(node, world.m1.token, ch.id, `m${i}`);
    const { db } = node.node.ctx.database;
    // Every event is younger than an hour: the age rule keeps them all.
    await trimLog(db, { hours: 1, events: 3 });
    expect(await positions(ch.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Two hours later, only the last 3 are kept.
    expect(await trimLog(db, { hours: 1, events: 3 }, Date.now() + 2 * 3600_000)).toBeGreaterThanOrEqual(5);
    expect(await positions(ch.id)).toEqual([6, 7, 8]);
    // A later trim starts from the oldest position left.
    await post(node, world.m1.token, ch.id, 'm9');
    await trimLog(db, { hours: 0, events: 2 });
    expect(await positions(ch.id)).toEqual([8, 9]);
  });

  it('lets posts append to the streams it trims while its deletes are not yet committed', async () => {
    const world = await seedWorld(node);
    const [a, b] = await Promise.all(['busy-a', 'busy-b'].map((name) => createChannel(node, world.m1.token, { guildId: world.guildId, name, xType: 'general' })));
    for (let i = 1; i <= 6; i++) await Promise.all([post(node, world.m1.token, a.id, `a${i}`), post(node, world.m1.token, b.id, `b${i}`)]);
    const { database } = node.node.ctx;
    if (database.dialect !== 'mysql') {
      expect(database.dialect).toBe('sqlite'); // one writer at a time: a trim and a post never overlap
      return;
    }
    // The trim's deletes stay uncommitted (so their locks stay held) while both channels get a post.
    const rolledBack = new Error('roll back');
    const outcome = await database.db
      .transaction()
      .execute(async (trx) => {
        expect(await trimLog(trx, { hours: 0, events: 2 })).toBeGreaterThanOrEqual(8);
        const posted = Promise.all([post(node, world.m1.token, a.id, 'during'), post(node, world.m1.token, b.id, 'during')]);
        const blocked = new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 10_000).unref());
        expect(await Promise.race([posted.then(() => 'posted'), blocked])).toBe('posted');
        throw rolledBack;
      })
      .catch((err: unknown) => err);
    expect(outcome).toBe(rolledBack);
    expect(await positions(a.id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
