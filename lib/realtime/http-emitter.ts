import { Agent, request } from 'node:http';
import { createLogger } from '../logger.js';
import type { EmitMessage, Emitter } from './emitter.js';

const log = createLogger('emit');

export interface HttpEmitterOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  /** Bound on what waits while the realtime process is slow; older emits are dropped (clients resync). */
  maxQueued?: number;
}

/**
 * Split-mode emitter: queues emits and sends them to the realtime process with at most one
 * request in flight, so order is kept and whatever piled up meanwhile goes as one batch.
 * Keep-alive connections; a short timeout; failures are logged and counted, never thrown.
 */
export function createHttpEmitter(opts: HttpEmitterOptions): Emitter & { stats: { sent: number; failed: number; dropped: number } } {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const base = new URL(opts.url);
  const maxQueued = opts.maxQueued ?? 50000;
  const stats = { sent: 0, failed: 0, dropped: 0 };
  // `count` is the number of emits of an entry; room changes count 0: they are never dropped,
  // or a removed member's sockets would keep receiving the channel.
  let queue: { path: string; body: unknown; count: number }[] = [];
  let queuedEmits = 0;
  let inFlight: Promise<void> | null = null;
  let idleWaiters: (() => void)[] = [];

  const post = (path: string, body: unknown) =>
    new Promise<void>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = request(
        new URL(path, base),
        {
          method: 'POST',
          agent,
          timeout: opts.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: `Bearer ${opts.secret}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => (res.statusCode && res.statusCode < 300 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });

  const pump = async () => {
    while (queue.length > 0) {
      const head = queue[0];
      // Merge consecutive emit batches into one request.
      if (head.path === '/internal/emit') {
        const emits: EmitMessage[] = [];
        while (queue.length > 0 && queue[0].path === '/internal/emit') {
          const entry = queue.shift()!;
          queuedEmits -= entry.count;
          emits.push(...(entry.body as { emits: EmitMessage[] }).emits);
        }
        try {
          await post('/internal/emit', { emits });
          stats.sent += emits.length;
        } catch (err) {
          stats.failed += emits.length;
          log.warn('emit failed; clients will resync', { count: emits.length, error: (err as Error).message, failed: stats.failed });
        }
      } else {
        queue.shift();
        await post(head.path, head.body).catch((err) => {
          stats.failed += 1;
          log.warn('room leave failed', { error: (err as Error).message });
        });
      }
    }
    inFlight = null;
    for (const w of idleWaiters) w();
    idleWaiters = [];
  };

  const enqueue = (path: string, body: unknown, count: number) => {
    queue.push({ path, body, count });
    queuedEmits += count;
    // Over the bound: drop the oldest emit batches (never room changes, never the newest entry).
    while (queuedEmits > maxQueued) {
      const oldest = queue.findIndex((q, i) => q.count > 0 && i < queue.length - 1);
      if (oldest === -1) break;
      const [dropped] = queue.splice(oldest, 1);
      queuedEmits -= dropped.count;
      stats.dropped += dropped.count;
    }
    if (!inFlight) inFlight = Promise.resolve().then(pump);
  };

  return {
    stats,
    publish(emits) {
      if (emits.length > 0) enqueue('/internal/emit', { emits }, emits.length);
    },
    leaveRoom(userId, channelId) {
      enqueue('/internal/rooms/leave', { userId, channelId }, 0);
    },
    guildRoom(userId, guildId, member) {
      enqueue('/internal/rooms/guild', { userId, guildId, member }, 0);
    },
    flush: () => (inFlight ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
    async close() {
      if (inFlight) await new Promise<void>((r) => idleWaiters.push(r));
      agent.destroy();
    },
  };
}
