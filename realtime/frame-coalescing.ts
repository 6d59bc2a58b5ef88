import type { Server } from 'socket.io';
import { createLogger } from '../lib/logger.js';

const log = createLogger('realtime');

/** What this module touches of an engine.io connection and its transport. */
interface EngineConnection {
  transport: EngineTransport;
  flush(): void;
  close(discard?: boolean): void;
  on(event: 'upgrade', listener: (transport: EngineTransport) => void): unknown;
}
interface EngineTransport {
  name: string;
  send(packets: unknown[]): void;
  /** The `ws` WebSocket of a websocket transport; its `_socket` is the TCP socket. */
  socket?: { _socket?: { cork(): void; uncork(): void } };
}

/**
 * Sends everything a client is due from one wave of promise continuations in one socket write.
 *
 * Stock engine.io writes each packet as soon as it is emitted, one socket write per websocket
 * frame, and holds later packets until that write's callback. Here, a busy node hands a client
 * several events per turn (the message.created of every post of a group commit), and on a
 * small VM each socket write costs tens of microseconds of kernel time, the largest cost of the
 * post path's fan-out (docs/performance.md). So, per connection, the buffer is flushed in a
 * microtask queued by the first packet: after the other continuations already queued (the
 * posts of one group commit resume together and emit in the same wave), but still before the
 * continuations that write their HTTP responses, so a poster gets its events before its
 * response whenever its socket is not still busy with an earlier write (then, as with stock
 * engine.io, they follow when that write completes). The websocket transport's frames of one flush are corked into one write. Frames
 * stay separate websocket frames in the same order; nothing waits for a timer.
 *
 * Relies on engine.io's `Socket.flush` and `Transport.send` and on `ws` keeping its TCP socket in
 * `_socket` (engine.io 6, ws 8; test/frame-coalescing.test.ts checks both).
 */
export function coalesceFrames(io: Server): void {
  io.engine.on('connection', (conn: EngineConnection) => {
    flushOncePerWave(conn);
    corkWebsocketSends(conn.transport);
    conn.on('upgrade', corkWebsocketSends);
  });
}

function flushOncePerWave(conn: EngineConnection): void {
  const flushNow = conn.flush.bind(conn);
  let scheduled = false;
  conn.flush = () => {
    if (scheduled) return;
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
