/**
 * realtime/frame-coalescing.ts with a flush window (REALTIME_FLUSH_MS > 0), on a real
 * socket.io server and a real client: the events of several waves inside the window leave in
 * one socket write, complete and in order; acks still work.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket as ServerSocket } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesceFrames } from '../realtime/frame-coalescing.js';
import { jsonParser } from '../realtime/json-parser.js';

let http: HttpServer;
let io: Server;
let client: ClientSocket;
let server: ServerSocket;

beforeAll(async () => {
  http = createServer();
  io = new Server(http, { parser: jsonParser });
  coalesceFrames(io, 40);
  io.on('connection', (socket) => socket.on('echo', (value: unknown, ack: (v: unknown) => void) => ack(value)));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const serverSide = new Promise<ServerSocket>((resolve) => io.once('connection', resolve));
  client = ioClient(`http://127.0.0.1:${(http.address() as AddressInfo).port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('connect_error', reject);
  });
  server = await serverSide;
});
afterAll(async () => {
  client.disconnect();
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

describe('frame coalescing with a flush window', () => {
  it('sends the events of several waves inside the window in one socket write, in order', async () => {
    const tcp = (server.conn.transport as unknown as { socket: { _socket: Record<string, (...a: unknown[]) => unknown> } }).socket._socket;
    let writes = 0;
    for (const method of ['_write', '_writev']) {
      const original = tcp[method];
      tcp[method] = function (this: unknown, ...args: unknown[]) {
        writes++;
        return original.apply(this, args);
      };
    }
    const seen: number[] = [];
    const received = new Promise<void>((resolve) =>
      client.on('burst', (n: number) => {
        seen.push(n);
        if (seen.length === 30) resolve();
      }),
    );
    // Three waves, each after the event loop turned (as posts of separate group commits are).
    for (let wave = 0; wave < 3; wave++) {
      for (let n = 0; n < 10; n++) server.emit('burst', wave * 10 + n);
      await new Promise((r) => setImmediate(r));
    }
    await received;
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(writes).toBe(1);
  });

  it('keeps acks working', async () => {
    const answers = await Promise.all([1, 2, 3].map((n) => client.emitWithAck('echo', n)));
    expect(answers).toEqual([1, 2, 3]);
  });
});
