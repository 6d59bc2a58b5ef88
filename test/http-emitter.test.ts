/**
 * The split-mode emitter (lib/realtime/http-emitter.ts) against a realtime peer that stalls:
 * what piles up meanwhile goes out in order, emits beyond the bound are dropped oldest first,
 * and room changes are never dropped (a removed member's sockets must leave the room).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { emitTo } from '../lib/realtime/emitter.js';
import { createHttpEmitter } from '../lib/realtime/http-emitter.js';

interface Received {
  path: string;
  body: any;
}

/** A stand-in realtime process whose internal channel answers only once `release()` is called. */
async function stallingPeer() {
  const received: Received[] = [];
  let releaseAll: () => void = () => {};
  const released = new Promise<void>((r) => (releaseAll = r));
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
    await released;
    res.writeHead(202).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, release: releaseAll, close: () => new Promise<void>((r) => server.close(() => r())) };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

const emit = (n: number) => emitTo.channel('ch', 'message.created', { n });

describe('split-mode emitter while the realtime process is slow', () => {
  it('drops the oldest emits beyond the bound, keeps every room change, and keeps the order', async () => {
    const peer = await stallingPeer();
    const emitter = createHttpEmitter({ url: peer.url, secret: 's', timeoutMs: 5000, maxQueued: 3 });
    cleanup.push(peer.close, () => emitter.close());

    emitter.publish([emit(1)]); // goes out at once and stalls
    await expect.poll(() => peer.received.length).toBe(1);
    emitter.publish([emit(2), emit(3)]);
    emitter.leaveRoom('u1', 'ch');
    emitter.publish([emit(4)]);
    emitter.guildRoom('u2', 'g', false);
    emitter.publish([emit(5), emit(6)]); // 5 queued emits > 3: the oldest batch (2, 3) goes
    peer.release();
    await emitter.flush();

    expect(peer.received.map((r) => [r.path, r.body.emits?.map((e: any) => e.data.n) ?? r.body])).toEqual([
      ['/internal/emit', [1]],
      ['/internal/rooms/leave', { userId: 'u1', channelId: 'ch' }],
      ['/internal/emit', [4]],
      ['/internal/rooms/guild', { userId: 'u2', guildId: 'g', member: false }],
      ['/internal/emit', [5, 6]],
    ]);
    expect(emitter.stats).toMatchObject({ dropped: 2, failed: 0 });
  });

  it('never drops room changes, however many pile up', async () => {
    const peer = await stallingPeer();
    const emitter = createHttpEmitter({ url: peer.url, secret: 's', timeoutMs: 5000, maxQueued: 1 });
    cleanup.push(peer.close, () => emitter.close());

    emitter.publish([emit(1)]);
    await expect.poll(() => peer.received.length).toBe(1);
    for (let i = 0; i < 20; i++) emitter.leaveRoom(`u${i}`, 'ch');
    peer.release();
    await emitter.flush();
    expect(peer.received.filter((r) => r.path === '/internal/rooms/leave').map((r) => r.body.userId)).toEqual(Array.from({ length: 20 }, (_, i) => `u${i}`));
    expect(emitter.stats.dropped).toBe(0);
  });
});
