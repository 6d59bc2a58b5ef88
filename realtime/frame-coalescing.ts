import type { Server } from 'socket.io';
import { createLogger } from '../lib/logger.js';

const log = createLogger('realtime');

/** What this module touches of an engine.io connection and its transport. */
interface EngineConnection {
  readyState: string;
  upgrading: boolean;
  writeBuffer: unknown[];
  transport: EngineTransport;
  write(data: unknown, options?: unknown, callback?: unknown): unknown;
  flush(): void;
  close(discard?: boolean): void;
  on(event: 'upgrade', listener: (transport: EngineTransport) => void): unknown;
}
interface EngineTransport {
  name: string;
  perMessageDeflate?: unknown;
  send(packets: unknown[]): void;
  /** The `ws` WebSocket of a websocket transport; its `_socket` is the TCP socket. */
  socket?: WsSocket;
}
interface WsSocket {
  readyState: number;
  _socket?: TcpSocket;
}
interface TcpSocket {
  destroyed: boolean;
  writableLength: number;
  destroy(): void;
  cork(): void;
  uncork(): void;
  write(data: Buffer): boolean;
}

/** `ws`'s WebSocket.OPEN. */
const WS_OPEN = 1;

/** What a connection may hold unsent before it counts as not reading and is closed (broadcasts here, replays in app.ts). */
export const MAX_UNSENT_BYTES = 16 * 1024 * 1024;

/**
 * Sends everything a client is due from one wave of promise continuations in one socket write,
 * and a broadcast's frame to each client without engine.io's per-packet bookkeeping.
 *
 * Stock engine.io writes each packet as soon as it is emitted, one socket write per websocket
 * frame, and holds later packets until that write's callback. Here, a busy node hands a client
 * several events per turn (the message.created of every post of a group commit), and on a
 * small VM each socket write costs tens of microseconds of kernel time, the largest cost of the
 * post path's fan-out (docs/performance.md). So, per connection, engine.io's buffer (a
 * client's own packets) is flushed in a microtask queued by the first packet, after the other
 * continuations already queued; room broadcasts, below, likewise. The websocket transport's
 * frames of one flush, and the broadcast frames of one wave, are corked into one write.
 * Frames stay separate websocket frames in the same order; nothing waits for a timer.
 *
 * A room broadcast (socket.io's in-memory adapter) encodes its websocket frame once; engine.io
 * then still builds a packet, emits four events and runs a flush and a drain per client, and
 * `ws` corks two buffers into a `writev`: most of the node's JavaScript per delivery at
 * thousands of sockets. A connection on an open websocket with nothing buffered instead gets
 * that frame, joined into one buffer once per broadcast, queued for the end of the wave; one
 * microtask then writes each client's queued frames in one `write` (the bytes engine.io would
 * have written, in the same order with anything written before or after: a packet that takes
 * engine.io's way first writes the frames waiting for its client); anything else
 * (long-polling, an upgrade, packets waiting, a send callback) takes engine.io's way.
 *
 * Relies on engine.io's `Socket.write`, `flush`, `writeBuffer`, `upgrading` and
 * `Transport.send`, on socket.io-adapter's `wsPreEncodedFrame` option (`ws`'s header and payload
 * buffers) and on `ws` keeping its TCP socket in `_socket` (engine.io 6, socket.io-adapter 2,
 * ws 8; test/frame-coalescing.test.ts checks them).
 */
export function coalesceFrames(io: Server): void {
  io.engine.on('connection', (conn: EngineConnection) => {
    flushOncePerWave(conn);
    writeBroadcastFramesDirectly(conn);
    corkWebsocketSends(conn.transport);
    conn.on('upgrade', corkWebsocketSends);
  });
}

/**
 * About how many bytes a connection was handed and has not yet given to the kernel: engine.io's
 * buffered packets (their text or bytes) and what its websocket's TCP socket still holds. A
 * client that stops reading leaves it growing (the kernel's own buffer full).
 */
export function unsentBytes(engineSocket: object): number {
  // socket.io's `socket.conn`: engine.io types these fields as private.
  const conn = engineSocket as Pick<EngineConnection, 'writeBuffer' | 'transport'>;
  let bytes = conn.transport.name === 'websocket' ? (conn.transport.socket?._socket?.writableLength ?? 0) : 0;
  for (const packet of conn.writeBuffer) {
    const data = (packet as { data?: unknown }).data;
    bytes += typeof data === 'string' || Buffer.isBuffer(data) ? data.length : 0;
  }
  return bytes;
}

function flushOncePerWave(conn: EngineConnection): void {
  const flushNow = conn.flush.bind(conn);
  let scheduled = false;
  conn.flush = () => {
    // Nothing buffered, nothing to schedule: engine.io calls flush after every completed write,
    // and a flush scheduled for nothing would let a later packet overtake a direct broadcast
    // frame queued before it (see writeBroadcastFramesDirectly).
    if (scheduled || conn.writeBuffer.length === 0) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      try {
        flushNow();
      } catch (err) {
        // Thrown here it would be an uncaught exception; the connection is what failed.
        log.warn('closing a realtime connection whose write failed', { error: err instanceof Error ? err.message : String(err) });
        conn.close(true);
      }
    });
  };
}

/** A broadcast's frame (`ws`'s header and payload) as one buffer, built once for all its clients. */
const joinedFrames = new WeakMap<object, Buffer>();
function joinedFrame(frame: Buffer[]): Buffer {
  let joined = joinedFrames.get(frame);
  if (!joined) joinedFrames.set(frame, (joined = frame.length === 1 ? frame[0] : Buffer.concat(frame)));
  return joined;
}

/**
 * Broadcast frames waiting for the end of the wave, per websocket, in order; written by one
 * microtask, after the continuations already queued (a group commit's posts resume together,
 * and each stream delivers what arrived in one step, realtime/stream-delivery.ts) and before
 * the later ones that write the posts' HTTP responses (docs/performance.md, series 20).
 */
const waiting = new Map<WsSocket, Buffer[]>();
let writeScheduled = false;
function writeWaitingFrames() {
  writeScheduled = false;
  try {
    writeFrames(waiting);
  } finally {
    // Whatever happened there, the next wave queues afresh (and schedules its own write).
    waiting.clear();
  }
}

/** Writes a websocket's waiting frames now: a packet that takes engine.io's way must not overtake them. */
function writeWaitingFramesOf(ws: WsSocket): void {
  const frames = waiting.get(ws);
  if (!frames) return;
  waiting.delete(ws);
  writeFrames(new Map([[ws, frames]]));
}

/**
 * Kept out of the `try` above: the loop runs once per client per wave and must stay fast. A
 * client whose TCP socket already holds more than MAX_UNSENT_BYTES unsent does not read: its
 * connection is closed rather than fed (it resumes from what it got when it comes back).
 */
function writeFrames(due: Map<WsSocket, Buffer[]>) {
  for (const [ws, frames] of due) {
    const tcp = ws._socket;
    // A client that closed meanwhile gets nothing more (as engine.io drops a closed socket's buffer).
    if (ws.readyState !== WS_OPEN || !tcp || tcp.destroyed) continue;
    if (tcp.writableLength > MAX_UNSENT_BYTES) {
      log.warn('closing a realtime connection that does not read its events', { unsentBytes: tcp.writableLength });
      tcp.destroy();
      continue;
    }
    tcp.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
  }
}

function writeBroadcastFramesDirectly(conn: EngineConnection): void {
  const write = conn.write.bind(conn);
  conn.write = (data, options, callback) => {
    const frame = (options as { wsPreEncodedFrame?: unknown } | undefined)?.wsPreEncodedFrame;
    const transport = conn.transport;
    const ws = transport.socket;
    if (
      !Array.isArray(frame) ||
      callback !== undefined ||
      conn.readyState !== 'open' ||
      conn.upgrading ||
      conn.writeBuffer.length > 0 ||
      transport.name !== 'websocket' ||
      transport.perMessageDeflate ||
      ws?.readyState !== WS_OPEN ||
      !ws._socket
    ) {
      if (ws) writeWaitingFramesOf(ws);
      return write(data, options, callback);
    }
    const frames = waiting.get(ws);
    if (frames) frames.push(joinedFrame(frame));
    else {
      if (!writeScheduled) {
        writeScheduled = true;
        queueMicrotask(writeWaitingFrames);
      }
      waiting.set(ws, [joinedFrame(frame)]);
    }
    return conn;
  };
}

function corkWebsocketSends(transport: EngineTransport): void {
  const tcp = transport.name === 'websocket' ? transport.socket?._socket : undefined;
  if (!tcp || typeof tcp.cork !== 'function') return;
  const send = transport.send.bind(transport);
  transport.send = (packets) => {
    tcp.cork();
    try {
      send(packets);
    } finally {
      tcp.uncork();
    }
  };
}
