/**
 * The split-mode emitter (lib/realtime/http-emitter.ts) against a realtime peer that stalls:
 * what piles up meanwhile goes out in order, in as few calls as the receiver's limits allow,
 * emits beyond the bound are dropped oldest first, and room changes are never dropped (a
 * removed member's sockets must leave the room).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmitMessage, RealtimeOp } from '../lib/realtime/emitter.js';
import { createHttpEmitter } from '../lib/realtime/http-emitter.js';

interface Received {
  path: string;
  body: any;
  bytes: number;
}

/** Every call's operations, in the order the peer received them, whichever endpoint carried them. */
const opsOf = (received: Received[]): RealtimeOp[] =>
  received.flatMap((r): RealtimeOp[] => {
    if (r.path === '/internal/emit') return r.body.emits.map((emit: any) => ({ emit }));
    if (r.path === '/internal/batch') return r.body.ops;
    if (r.path === '/internal/rooms/leave') return [{ leave: r.body }];
    return [{ guild: r.body }];
  });
/** An operation as a short label: an emit by its `n`, a room change by its kind and user. */
const label = (op: RealtimeOp) => ('emit' in op ? (op.emit.data.n as number) : 'leave' in op ? `leave ${op.leave.userId}` : `guild ${op.guild.userId}`);

/** A stand-in realtime process whose internal channel answers only once `release()` is called. */
async function stallingPeer() {
  const received: Received[] = [];
  let releaseAll: () => void = () => {};
  const released = new Promise<void>((r) => (releaseAll = r));
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    received.push({ path: req.url ?? '', body: JSON.parse(raw.toString('utf8')), bytes: raw.length });
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

/** Wire messages built by hand: these tests are about the transport, not the payloads. */
const wire = (data: Record<string, unknown>): EmitMessage => ({ to: { channel: 'ch' }, event: 'message.created', data });
const emit = (n: number) => wire({ n });

describe('split-mode emitter while the realtime process is slow', () => {
  it('drops the oldest emits beyond the bound, keeps every room change, and keeps the order', async () => {
    const peer = await stallingPeer();
    const emitter = createHttpEmitter({ url: peer.url, secret: 's', timeoutMs: 5000, maxQueued: 3 });
    cleanup.push(peer.close, () => emitter.close());

    emitter.publish([emit(1)]); // goes out at once and stalls
    await expect.poll(() => peer.received.length).toBe(1);
    emitter.publish([emit(2), emit(3)]);
    emitter.send([{ leave: { userId: 'u1', channelId: 'ch' } }]);
    emitter.publish([emit(4)]);
    emitter.guildRoom('u2', 'g', false);
    emitter.publish([emit(5), emit(6)]); // 5 queued emits > 3: the oldest batch (2, 3) goes
    peer.release();
    await emitter.flush();

    expect(opsOf(peer.received)).toEqual([
      { emit: emit(1) },
      { leave: { userId: 'u1', channelId: 'ch' } },
      { emit: emit(4) },
      { guild: { userId: 'u2', guildId: 'g', member: false } },
      { emit: emit(5) },
      { emit: emit(6) },
    ]);
    // What piled up behind the stalled call went as one batch.
    expect(peer.received.map((r) => r.path)).toEqual(['/internal/emit', '/internal/batch']);
    expect(emitter.stats).toMatchObject({ dropped: 2, failed: 0 });
  });

  it('never drops room changes, however many pile up', async () => {
    const peer = await stallingPeer();
    const emitter = createHttpEmitter({ url: peer.url, secret: 's', timeoutMs: 5000, maxQueued: 1 });
    cleanup.push(peer.close, () => emitter.close());

    emitter.publish([emit(1)]);
    await expect.poll(() => peer.received.length).toBe(1);
    for (let i = 0; i < 20; i++) emitter.send([{ leave: { userId: `u${i}`, channelId: 'ch' } }]);
    peer.release();
    await emitter.flush();
    expect(
      opsOf(peer.received)
        .filter((op) => 'leave' in op)
        .map(label),
    ).toEqual(Array.from({ length: 20 }, (_, i) => `leave u${i}`));
    expect(peer.received).toHaveLength(2);
    expect(emitter.stats.dropped).toBe(0);
  });
});

describe('split-mode emitter: calls', () => {
  it('sends the emits and room changes of one request as one call, in their order', async () => {
    const peer = await stallingPeer();
    peer.release();
    const emitter = createHttpEmitter({ url: peer.url, secret: 's', timeoutMs: 5000 });
    cleanup.push(peer.close, () => emitter.close());

    // A channel of a big guild turning private: its channel.updated, then every reader leaves.
    const leaves: RealtimeOp[] = Array.from({ length: 3000 }, (_, i) => ({ leave: { userId: `u${i}`, channelId: 'ch' } }));
    emitter.send([{ emit: emit(1) }, ...leaves]);
    emitter.publish([emit(2)]); // a later request's event waits for no round trip per leave
    await emitter.flush();

    expect(peer.received.map((r) => r.path)).toEqual(['/internal/batch']);
    expect(opsOf(peer.received).map(label)).toEqual([1, ...leaves.map(label), 2]);
  });

  it('splits a backlog into calls under the receiver’s entry and byte limits, keeping the order', async () => {
    const peer = await stallingPeer();
    const callLimits = { maxEntries: 100, maxBytes: 64 * 1024 };
    const emitter = createHttpEmitter({ url: peer.url, secret: 's', timeoutMs: 5000, callLimits });
    cleanup.push(peer.close, () => emitter.close());

    emitter.publish([emit(0)]);
    await expect.poll(() => peer.received.length).toBe(1);
    let n = 1;
    for (let i = 0; i < 250; i++) emitter.publish([emit(n++)]);
    emitter.send([{ leave: { userId: 'u1', channelId: 'ch' } }]);
    for (let i = 0; i < 20; i++) emitter.publish([wire({ n: n++, content: 'x'.repeat(10_000) })]);
    // Bigger than one call on its own: it goes alone.
    emitter.publish([wire({ n: n++, content: 'y'.repeat(100_000) })]);
    emitter.publish([emit(n++)]);
    peer.release();
    await emitter.flush();

    expect(opsOf(peer.received).map(label)).toEqual([...Array.from({ length: 251 }, (_, i) => i), 'leave u1', ...Array.from({ length: n - 251 }, (_, i) => 251 + i)]);
    for (const r of peer.received) {
      expect((r.body.emits ?? r.body.ops).length).toBeLessThanOrEqual(callLimits.maxEntries);
      if ((r.body.emits ?? r.body.ops).length > 1) expect(r.bytes).toBeLessThanOrEqual(callLimits.maxBytes);
    }
    expect(peer.received.length).toBeLessThan(12);
    expect(emitter.stats).toMatchObject({ sent: n, failed: 0, dropped: 0 });
  });
});
