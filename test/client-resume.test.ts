/**
 * The client SDK's resume, resync and session-end paths against a scripted peer that speaks
 * realtime.md's "Streams, positions and resume" and `session.ended` (a socket.io server and
 * the few REST reads the SDK makes). The node in this tree does not send positions yet; once
 * it does, these cases also run against it in test/client.test.ts. The peer answers the ack
 * of a join with `since` before it replays: the harder order for the client's seam.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { FabricClient, SessionEndedError, type MessageInfo } from '../lib/client/index.js';
import type { Message, MessageCreatedEvent } from '../lib/realtime/events.js';

const WAIT = { timeout: 15_000 };
const CHANNEL = 'c1';

const message = (seq: number): Message => ({
  id: `m${seq}`, channelId: CHANNEL, guildId: 'g1', seq, authorId: 'someone', content: `message ${seq}`, replyToId: null,
  mentions: [], attachments: [], clientMsgId: null, createdAt: new Date(1_700_000_000_000 + seq).toISOString(), editedAt: null, deletedAt: null,
});

/** A peer with one channel whose stream holds message.created events; pos = seq here. */
async function startPeer(opts: { retainFrom?: number } = {}) {
  const log: MessageCreatedEvent[] = [];
  const joins: { channelId: string; since?: number }[] = [];
  const http: HttpServer = createServer((req, res) => {
    const url = new URL(req.url!, 'http://peer');
    const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (url.pathname === '/api/guilds') return json({ guilds: [{ id: 'g1' }] });
    if (url.pathname === '/api/channels') return json({ channels: [{ id: CHANNEL, xType: 'general', lastSeq: 0, isMember: true }] });
    if (url.pathname === `/api/channels/${CHANNEL}/messages`) {
      const after = Number(url.searchParams.get('after') ?? 0);
      const messages = log.filter((e) => e.seq > after).slice(0, 2).map((e) => message(e.seq));
      return json({ messages, hasMore: log.some((e) => e.seq > after + 2) });
    }
    res.writeHead(404).end();
  });
  const io = new Server(http);
  const nsp = io.of('/realtime');
  let connections = 0;
  nsp.on('connection', (socket: Socket) => {
    connections++;
    socket.on('join_channel', (payload: { channelId: string; since?: number }, ack: (a: unknown) => void) => {
      joins.push(payload);
      const pos = log.length;
      const since = payload.since;
      void socket.join(CHANNEL);
      if (since !== undefined && since < (opts.retainFrom ?? 0)) return ack({ ok: true, pos, resync: true });
      ack({ ok: true, pos });
      // The replay follows in a later frame, so the client handles the ack first.
      const replay = since === undefined ? [] : log.slice(since);
      if (replay.length > 0) setTimeout(() => replay.forEach((e) => socket.emit('message.created', { ...e, replayed: true })), 30);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const append = (wakeup = false) => {
    const seq = log.length + 1;
    const e: MessageCreatedEvent = { ...message(seq), wakeup, wakeReason: wakeup ? 'general' : null, pos: seq };
    log.push(e);
    return e;
  };
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    joins,
    connections: () => connections,
    /** Stores an event and sends it live to the channel room. */
    live: (wakeup = false) => nsp.to(CHANNEL).emit('message.created', append(wakeup)),
    /** Stores an event that nobody receives live (the client is away). */
    missed: () => append(),
    /** Sends an already stored event again, live (a duplicate around the seam). */
    resend: (seq: number) => nsp.to(CHANNEL).emit('message.created', log[seq - 1]),
    kick: () => nsp.disconnectSockets(true),
    endSession: (code: string) => {
      nsp.emit('session.ended', { code, message: 'ended' });
      setTimeout(() => nsp.disconnectSockets(true), 20);
    },
    close: () => new Promise<void>((r) => io.close(() => r())),
  };
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function setup(opts: { retainFrom?: number; rateLimitedPauseMs?: number } = {}) {
  const peer = await startPeer(opts);
  const client = new FabricClient({
    url: peer.url,
    token: 't',
    userId: 'me',
    backoff: { baseMs: 50, maxMs: 200 },
    ackTimeoutMs: 1000,
    rateLimitedPauseMs: opts.rateLimitedPauseMs,
  });
  cleanup.push(peer.close, () => client.close());
  const seen: { seq: number; info: MessageInfo }[] = [];
  client.onMessage((m, info) => void seen.push({ seq: m.seq, info }));
  const connected: boolean[] = [];
  client.onConnected((e) => void connected.push(e.reconnect));
  await client.connect();
  return { peer, client, seen, connected };
}

describe('FabricClient resume (realtime.md "Streams, positions and resume")', () => {
  it('rejoins with since = the last position and delivers the replay, then live events, once each and in order', async () => {
    const { peer, client, seen, connected } = await setup();
    peer.live();
    peer.live();
    await expect.poll(() => seen.length, WAIT).toBe(2);
    expect(client.positions()).toEqual({ [CHANNEL]: 2 });

    peer.kick();
    peer.missed();
    peer.missed();
    await expect.poll(() => connected, WAIT).toEqual([false, true]);
    expect(peer.joins.at(-1)).toEqual({ channelId: CHANNEL, since: 2 });
    await expect.poll(() => seen.map((s) => s.seq), WAIT).toEqual([1, 2, 3, 4]);
    peer.resend(4); // a live duplicate of a replayed event
    peer.live(true);
    await expect.poll(() => seen.map((s) => s.seq), WAIT).toEqual([1, 2, 3, 4, 5]);
    expect(seen.map((s) => s.info.source)).toEqual(['live', 'live', 'replay', 'replay', 'live']);
    expect(seen[4].info).toMatchObject({ wakeup: true, wakeReason: 'general', replayed: false });
  });

  it('joins a channel for the first time without since and starts from the ack position', async () => {
    const { peer, client } = await setup();
    expect(peer.joins).toEqual([{ channelId: CHANNEL }]);
    expect(client.positions()).toEqual({ [CHANNEL]: 0 });
  });

  it('rejoins a channel whose stream has a gap that does not fill, and gets the missing events replayed', async () => {
    const { peer, seen } = await setup();
    peer.live();
    await expect.poll(() => seen.length, WAIT).toBe(1);
    peer.missed(); // lost on the way
    peer.live();
    await expect.poll(() => seen.map((s) => s.seq), WAIT).toEqual([1, 2, 3]);
    expect(peer.joins.at(-1)).toEqual({ channelId: CHANNEL, since: 1 });
  });

  it('resyncs through REST when the ack says resync: true, then goes on live without duplicates', async () => {
    const { peer, client, seen, connected } = await setup({ retainFrom: 100 });
    peer.live();
    await expect.poll(() => seen.length, WAIT).toBe(1);
    const resyncs: number[] = [];
    client.onResync((e) => void resyncs.push(e.messages));

    peer.kick();
    for (let i = 0; i < 4; i++) peer.missed();
    await expect.poll(() => connected, WAIT).toEqual([false, true]);
    peer.resend(5);
    peer.live();
    await expect.poll(() => seen.map((s) => s.seq), WAIT).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.slice(1, 5).map((s) => s.info)).toEqual(Array(4).fill({ wakeup: false, wakeReason: null, replayed: true, source: 'resync' }));
    expect(resyncs).toEqual([4]);
    expect(client.positions()).toEqual({ [CHANNEL]: 6 });
  });
});

describe('FabricClient and session.ended', () => {
  it('stops for good on token_revoked: surfaced, no reconnect, posts refused', async () => {
    const { peer, client } = await setup();
    const ended: string[] = [];
    client.onSessionEnded((e) => void ended.push(e.code));
    peer.endSession('token_revoked');
    await expect.poll(() => ended, WAIT).toEqual(['token_revoked']);
    expect(client.sessionEnded?.code).toBe('token_revoked');
    await expect(client.post(CHANNEL, 'x')).rejects.toBeInstanceOf(SessionEndedError);
    await expect.poll(() => client.connected, WAIT).toBe(false);
    expect(peer.connections()).toBe(1);
  });

  it('comes back after rate_limited, not before its pause', async () => {
    const { peer, client, connected } = await setup({ rateLimitedPauseMs: 1500 });
    const ended: string[] = [];
    client.onSessionEnded((e) => void ended.push(e.code));
    const endedAt = Date.now();
    peer.endSession('rate_limited');
    await expect.poll(() => connected, WAIT).toEqual([false, true]);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(1400);
    expect(ended).toEqual(['rate_limited']);
    expect(client.sessionEnded).toBeNull();
  });
});
