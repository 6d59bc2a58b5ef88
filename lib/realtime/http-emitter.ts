import { Agent, request } from 'node:http';
import { currentRequestId } from '../http/request-context.js';
import { createLogger } from '../logger.js';
import { withFields } from '../objects.js';
import { createRepeatedWarning } from '../repeated-warning.js';
import { handoverBacklog, handoverFailed, handoverLatency, handoverQueued, handoverSent, stopwatch } from '../metrics.js';
import { emitterFromSend, type Emitter, type RealtimeOp } from './emitter.js';
import { DEFAULT_CALL_LIMITS, takeCall, type CallLimits, type QueuedSend } from './internal-calls.js';

const log = createLogger('emit');

export interface HttpEmitterOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  /** Bound on what waits while the realtime process is slow; older emits are dropped (clients resync). */
  maxQueued?: number;
  /** Size of one call (tests use small ones); the default stays well inside what the realtime process accepts. */
  callLimits?: CallLimits;
  /** Identical failures are logged once per this period (default 10 s). */
  warnPeriodMs?: number;
}

const isRoomChange = (op: RealtimeOp) => !('emit' in op);

/** Stamps the request that caused them on the emits, so the realtime process's log lines name it. */
const withRequestId = (ops: RealtimeOp[], requestId: string | undefined): RealtimeOp[] =>
  requestId ? ops.map((op) => ('emit' in op ? { emit: withFields(op.emit, { requestId }) } : op)) : ops;

/**
 * Split-mode emitter: queues emits and room changes and sends them to the realtime process
 * with at most one request in flight, so order is kept and whatever piled up meanwhile goes
 * in as few calls as the call limits allow. Keep-alive connections; a short timeout;
 * failures are logged and counted, never thrown.
 */
export function createHttpEmitter(opts: HttpEmitterOptions): Emitter & { stats: { sent: number; failed: number; dropped: number } } {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const base = new URL(opts.url);
  const maxQueued = opts.maxQueued ?? 50000;
  const limits = opts.callLimits ?? DEFAULT_CALL_LIMITS;
  const stats = { sent: 0, failed: 0, dropped: 0 };
  // A realtime process that is down fails every call the same way: one line per period, with a count.
  const emitFailed = createRepeatedWarning(log, 'emit failed; the events are delivered from the event log', opts.warnPeriodMs);
  // Room changes are never dropped, or a removed member's sockets would keep receiving the channel.
  const queue: QueuedSend[] = [];
  let queuedEmits = 0;
  let inFlight: Promise<void> | null = null;
  let idleWaiters: (() => void)[] = [];

  const post = (path: string, body: string) =>
    new Promise<void>((resolve, reject) => {
      const payload = Buffer.from(body);
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
      const { call, tooLarge, emitsTaken } = takeCall(queue, limits);
      queuedEmits -= emitsTaken;
      handoverBacklog.set(queuedEmits);
      if (tooLarge > 0) {
        stats.failed += tooLarge;
        handoverFailed.inc({ reason: 'too_large' }, tooLarge);
        log.warn('event too large for the internal channel; dropped', { count: tooLarge, failed: stats.failed });
      }
      if (!call) continue;
      const elapsed = stopwatch();
      try {
        await post(call.path, call.body);
        stats.sent += call.emits;
        handoverLatency.observe({ outcome: 'ok' }, elapsed());
        handoverSent.inc(call.emits);
      } catch (err) {
        stats.failed += call.emits + call.roomChanges;
        handoverLatency.observe({ outcome: 'error' }, elapsed());
        handoverFailed.inc({ reason: 'call_failed' }, call.emits + call.roomChanges);
        const error = (err as Error).message;
        emitFailed.warn(error, { error, failed: stats.failed });
      }
    }
    inFlight = null;
    for (const w of idleWaiters) w();
    idleWaiters = [];
  };

  /** Over the bound: drops the emits of the oldest sends (never room changes, never the newest send). */
  const dropOldestEmits = () => {
    for (let i = 0; i < queue.length - 1 && queuedEmits > maxQueued; i++) {
      const entry = queue[i];
      if (entry.emits === 0) continue;
      queuedEmits -= entry.emits;
      stats.dropped += entry.emits;
      handoverFailed.inc({ reason: 'dropped' }, entry.emits);
      entry.ops = entry.ops.slice(entry.taken).filter(isRoomChange);
      entry.taken = 0;
      entry.emits = 0;
    }
  };

  const send = (given: RealtimeOp[]) => {
    if (given.length === 0) return;
    const ops = withRequestId(given, currentRequestId());
    const emits = ops.length - ops.filter(isRoomChange).length;
    handoverQueued.inc(emits);
    queue.push({ ops, taken: 0, emits });
    queuedEmits += emits;
    if (queuedEmits > maxQueued) dropOldestEmits();
    handoverBacklog.set(queuedEmits);
    if (!inFlight) inFlight = Promise.resolve().then(pump);
  };

  return {
    stats,
    ...emitterFromSend(send, {
      flush: () => (inFlight ? new Promise<void>((r) => idleWaiters.push(r)) : Promise.resolve()),
      async close() {
        if (inFlight) await new Promise<void>((r) => idleWaiters.push(r));
        emitFailed.flush();
        agent.destroy();
      },
    }),
  };
}
