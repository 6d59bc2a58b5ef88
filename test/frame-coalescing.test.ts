/**
 * realtime/frame-coalescing.ts on a real socket.io server and real clients: events emitted to
 * a client in one wave leave in one socket write, arrive complete and in order, over a
 * websocket from the start and after an upgrade from long-polling; a room broadcast's frame is
 * written straight to the websocket, in order with the client's own packets; acks still work.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceFrames, MAX_UNSENT_BYTES, unsentBytes } from '../realtime/frame-coalescing.js';
import { jsonParser } from '../realtime/json-parser.js';

let http: HttpServer;
let io: Server;
let url: string;
const clients: ClientSocket[] = [];

beforeAll(async () => {
  http = createServer();
  io = new Server(http, { parser: jsonParser });
  coalesceFrames(io);
  io.on('connection', (socket) => socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value)));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

/** Connects a client and returns it with the server side of its connection. */
async function connect(transports: ('websocket' | 'polling')[]): Promise<{ client: ClientSocket; server: ServerSocket }> {
  const serverSide = new Promise<ServerSocket>((resolve) => io.once('connection', resolve));
  const client = ioClient(url, { transports, forceNew: true, reconnection: false });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  return { client, server: await serverSide };
}

/** Counts the writes handed to the TCP socket under a websocket connection (one per syscall batch). */
function countTcpWrites(server: ServerSocket): () => number {
  const tcp = (server.conn.transport as unknown as { socket: { _socket: Record<string, (...a: unknown[]) => unknown> } }).socket._socket;
  let writes = 0;
  for (const method of ['_write', '_writev']) {
    const original = tcp[method];
    tcp[method] = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
  }
  return () => writes;
}

function receive(client: ClientSocket, count: number): Promise<number[]> {
  const seen: number[] = [];
  return new Promise((resolve) =>
    client.on('burst', (n: number) => {
      seen.push(n);
      if (seen.length === count) resolve(seen);
    }),
  );
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('frame coalescing', () => {
  it('sends the events of one wave in one socket write, complete and in order', async () => {
    const { client, server } = await connect(['websocket']);
    const writes = countTcpWrites(server);
    const received = receive(client, 300);
    for (const n of range(300)) server.emit('burst', n);
    expect(await received).toEqual(range(300));
    expect(writes()).toBe(1);
  });

  it('sends broadcasts to a room the same way, and a later wave in a write of its own', async () => {
    const { client, server } = await connect(['websocket']);
    server.join('room');
    const writes = countTcpWrites(server);
    const received = receive(client, 100);
    for (const n of range(50)) io.to('room').emit('burst', n);
    await new Promise((r) => setImmediate(r));
    for (const n of range(50)) io.to('room').emit('burst', 50 + n);
    expect(await received).toEqual(range(100));
    expect(writes()).toBe(2);
  });

  it("writes a broadcast's frame straight to the websocket: no engine.io packet per client", async () => {
    const { client, server } = await connect(['websocket']);
    server.join('direct');
    let packets = 0;
    server.conn.on('packetCreate', () => packets++);
    const writes = countTcpWrites(server);
    const received = receive(client, 100);
    for (const n of range(100)) io.to('direct').emit('burst', n);
    expect(await received).toEqual(range(100));
    // Fails when an upgrade of engine.io, socket.io-adapter or ws removes what the direct write relies on.
    expect(packets).toBe(0);
    expect(writes()).toBe(1);
  });

  it("keeps a client's own packets and broadcasts in the order they were emitted", async () => {
    const { client, server } = await connect(['websocket']);
    server.join('mixed');
    const received = receive(client, 400);
    // Broadcast first, then the client's own packet, then broadcasts behind it in engine.io's buffer; then waves apart.
    for (const n of range(100)) {
      if (n % 3 === 1) server.emit('burst', n);
      else io.to('mixed').emit('burst', n);
    }
    for (const wave of [1, 2, 3]) {
      await new Promise((r) => setImmediate(r));
      for (const n of range(100)) {
        if (n % 7 === 0) server.emit('burst', wave * 100 + n);
        else io.to('mixed').emit('burst', wave * 100 + n);
      }
    }
    expect(await received).toEqual(range(400));
  });

  it("keeps a broadcast before the client's own packet when engine.io's flush is already pending with nothing buffered", async () => {
    const { client, server } = await connect(['websocket']);
    server.join('pending-flush');
    const received = receive(client, 3);
    // 0 goes through engine.io; its write completes synchronously, so the websocket transport's
    // 'ready' (which calls conn.flush(): a flush microtask with an empty buffer) runs in a tick.
    server.emit('burst', 0);
    queueMicrotask(() =>
      process.nextTick(() => {
        // A tick after that 'ready': a broadcast, then the client's own packet.
        io.to('pending-flush').emit('burst', 1);
        server.emit('burst', 2);
      }),
    );
    expect(await received).toEqual([0, 1, 2]);
  });

  it("keeps that order from a promise continuation too (a promise settled in a tick just before the 'ready')", async () => {
    const { client, server } = await connect(['websocket']);
    server.join('pending-flush-2');
    const received = receive(client, 3);
    let settle!: () => void;
    new Promise<void>((resolve) => (settle = resolve)).then(() => {
      io.to('pending-flush-2').emit('burst', 1);
      server.emit('burst', 2);
    });
    // Settled by a tick queued before the tick of 0's write callback (say, a stream callback).
    queueMicrotask(() => process.nextTick(settle));
    server.emit('burst', 0);
    expect(await received).toEqual([0, 1, 2]);
  });

  it('keeps acks working', async () => {
    const { client } = await connect(['websocket']);
    const answers = await Promise.all(range(20).map((n) => client.emitWithAck('echo', n)));
    expect(answers).toEqual(range(20));
  });

  it('coalesces after an upgrade from long-polling too', async () => {
    const { client, server } = await connect(['polling', 'websocket']);
    await new Promise<void>((resolve) => (server.conn.transport.name === 'websocket' ? resolve() : server.conn.once('upgrade', () => resolve())));
    const writes = countTcpWrites(server);
    const received = receive(client, 200);
    for (const n of range(200)) server.emit('burst', n);
    expect(await received).toEqual(range(200));
    expect(writes()).toBe(1);
  });

  it('delivers broadcasts over long-polling, and straight to the websocket after the upgrade', async () => {
    const { client, server } = await connect(['polling', 'websocket']);
    server.join('upgrading');
    const received = receive(client, 100);
    for (const n of range(50)) io.to('upgrading').emit('burst', n);
    await new Promise<void>((resolve) => (server.conn.transport.name === 'websocket' ? resolve() : server.conn.once('upgrade', () => resolve())));
    await new Promise((r) => setTimeout(r, 50));
    let packets = 0;
    server.conn.on('packetCreate', () => packets++);
    for (const n of range(50)) io.to('upgrading').emit('burst', 50 + n);
    expect(await received).toEqual(range(100));
    expect(packets).toBe(0);
  });

  it('closes a client that stops reading once it holds more than MAX_UNSENT_BYTES of broadcasts, and feeds the others', async () => {
    const { client: stalled, server: stalledServer } = await connect(['websocket']);
    const { client: reader, server: readerServer } = await connect(['websocket']);
    for (const s of [stalledServer, readerServer]) s.join('busy');
    const closed = new Promise<string>((resolve) => stalledServer.once('disconnect', resolve));
    (stalled.io.engine.transport as unknown as { ws: { _socket: { pause(): void } } }).ws._socket.pause();
    let got = 0;
    reader.on('big', () => got++);
    const big = 'x'.repeat(1024 * 1024);
    let sent = 0;
    let peak = 0;
    // Broadcast waves of 1 MiB until the stalled client's connection is closed (or far past the bound).
    while (stalledServer.connected && sent < 200) {
      io.to('busy').emit('big', big);
      sent++;
      peak = Math.max(peak, unsentBytes(stalledServer.conn));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await closed).toBe('transport close');
    expect(peak).toBeLessThanOrEqual(MAX_UNSENT_BYTES + 2 * big.length);
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => reject(new Error(`the reader got ${got} of ${sent}`)), 10_000);
      const check = setInterval(() => got >= sent && (clearInterval(check), clearTimeout(deadline), resolve()), 20);
    });
  });
});
