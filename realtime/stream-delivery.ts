import type { StreamRef } from '../lib/db/dialect.js';
import type { Db } from '../lib/db/index.js';
import { createLogger } from '../lib/logger.js';
import type { EmitMessage } from '../lib/realtime/emitter.js';
import { readStream, streamHeads, streamKey, toEmit } from '../lib/realtime/event-log.js';

const log = createLogger('realtime');

/** How long an event that arrived ahead of a missing one waits for it before the gap is read from the log. */
const GAP_WAIT_MS = 150;
/** A stream with no local subscriber for this long is no longer tracked. */
const IDLE_MS = 30_000;

interface Tracker {
  stream: StreamRef;
  /** Last position delivered to this process's subscribers; -1 until the head was read. */
  delivered: number;
  /** Events received ahead of a missing position, by position. */
  ahead: Map<number, EmitMessage>;
  /** Every step on this stream runs in turn (deliveries, catch-ups, joins). */
  queue: Promise<void>;
  gapTimer?: NodeJS.Timeout;
  lastUsed: number;
  /** Joins waiting for the stream's next join step (one is queued while this is set). */
  joins?: Join[];
  /**
   * Events handed over since the stream's delivery step was queued, taken in by that step (in
   * its turn: a join queued before it reads the head and joins its sockets first).
   */
  arrived: EmitMessage[];
}

/** A join waiting in its stream's queue: run with the head once the stream is delivered up to it. */
interface Join {
  run(head: number): Promise<void>;
  fail(err: unknown): void;
}

export interface StreamDeliveryOptions {
  db: Db;
  /** Sends one positioned emit to this process's sockets of its room. */
  deliverLocally(emit: EmitMessage): void;
  /** Whether this process still has a socket subscribed to the stream. */
  hasSubscribers(stream: StreamRef): boolean;
  /** Interval of the catch-up poll of tracked streams (ms). */
  pollMs: number;
}

/**
 * Delivers each stream to this process's sockets in position order, once, whatever order the
 * hand-overs arrive in and whichever are lost: the last delivered position is kept per
 * stream; an event ahead of a missing one waits GAP_WAIT_MS for it, then the gap is read
 * from the log; a duplicate is dropped; a periodic poll of the streams' heads catches up on
 * events that were never handed over (a crashed API process, Redis down) even when the
 * stream then goes quiet. Streams are tracked while this process has subscribers to them.
 */
export function createStreamDelivery(opts: StreamDeliveryOptions) {
  const trackers = new Map<string, Tracker>();
  let closed = false;

  const tracker = (stream: StreamRef, create: boolean): Tracker | undefined => {
    const key = streamKey(stream);
    let t = trackers.get(key);
    if (!t && create) {
      t = { stream, delivered: -1, ahead: new Map(), queue: Promise.resolve(), lastUsed: Date.now(), arrived: [] };
      trackers.set(key, t);
    }
    if (t) t.lastUsed = Date.now();
    return t;
  };

  /** Runs `step` after the stream's earlier steps; failures are logged, never break the queue. */
  function enqueue<T>(t: Tracker, step: () => Promise<T> | T): Promise<T> {
    const run = t.queue.then(step);
    t.queue = run.then(
      () => undefined,
      (err: unknown) => log.warn('stream step failed', { stream: streamKey(t.stream), error: err instanceof Error ? err.message : String(err) }),
    );
    return run;
  }

  const deliver = (t: Tracker, emit: EmitMessage) => {
    opts.deliverLocally(emit);
    t.delivered = emit.pos!;
  };

  /** Takes in arrived events (one step of the stream) and delivers what is due. */
  function take(t: Tracker, arrived: readonly EmitMessage[]) {
    for (const emit of arrived) if (emit.pos! > t.delivered && !t.ahead.has(emit.pos!)) t.ahead.set(emit.pos!, emit);
    if (t.delivered >= 0) drain(t);
  }

  /** Delivers what waits in order; schedules a gap read when something waits behind a missing position. */
  function drain(t: Tracker) {
    for (let next = t.ahead.get(t.delivered + 1); next; next = t.ahead.get(t.delivered + 1)) {
      t.ahead.delete(next.pos!);
      deliver(t, next);
    }
    for (const pos of t.ahead.keys()) if (pos <= t.delivered) t.ahead.delete(pos);
    if (t.ahead.size > 0 && !t.gapTimer && !closed) {
      t.gapTimer = setTimeout(() => {
        t.gapTimer = undefined;
        void enqueue(t, () => catchUp(t, Math.max(...t.ahead.keys())));
      }, GAP_WAIT_MS);
      t.gapTimer.unref();
    }
  }

  /** Delivers every event up to `upTo` from the log (and what waits ahead). */
  async function catchUp(t: Tracker, upTo: number) {
    if (t.delivered < 0 || upTo <= t.delivered) return drain(t);
    const events = await readStream(opts.db, t.stream, t.delivered, upTo);
    for (const e of events) if (e.pos === t.delivered + 1) deliver(t, toEmit(t.stream, e));
    if (t.delivered < upTo) {
      // No longer in the log (trimmed) or not readable: those events are skipped, never delivered out of order.
      log.warn('stream events missing from the log; skipped', { stream: streamKey(t.stream), from: t.delivered + 1, to: upTo });
      t.delivered = upTo;
    }
    drain(t);
  }

  /** Reads the head and brings the tracker up to it (the first read sets where it starts). */
  async function syncToHead(t: Tracker, head: number) {
    if (t.delivered < 0) {
      t.delivered = head;
      drain(t);
    } else await catchUp(t, head);
  }

  /** Queues one step for the joins that gather on `t` until it starts; returns their list. */
  function queueJoinStep(t: Tracker): Join[] {
    const joins: Join[] = (t.joins = []);
    void enqueue(t, async () => {
      t.joins = undefined;
      try {
        const head = (await streamHeads(opts.db, [t.stream])).get(streamKey(t.stream)) ?? 0;
        await syncToHead(t, head);
      } catch (err) {
        for (const j of joins) j.fail(err);
        throw err;
      }
      // Each join settles its own promise: one failing join does not fail the others.
      await Promise.all(joins.map((j) => j.run(t.delivered).catch(j.fail)));
    });
    return joins;
  }

  async function poll() {
    const now = Date.now();
    for (const [key, t] of trackers) {
      if (!opts.hasSubscribers(t.stream) && now - t.lastUsed > IDLE_MS) {
        clearTimeout(t.gapTimer);
        trackers.delete(key);
      }
    }
    const live = [...trackers.values()].filter((t) => t.delivered >= 0);
    if (live.length === 0) return;
    const heads = await streamHeads(
      opts.db,
      live.map((t) => t.stream),
    );
    for (const t of live) {
      const head = heads.get(streamKey(t.stream)) ?? 0;
      if (head > t.delivered) void enqueue(t, () => catchUp(t, head));
    }
  }

  let polling = false;
  const timer = setInterval(() => {
    if (polling) return;
    polling = true;
    poll()
      .catch((err: unknown) => log.warn('stream poll failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (polling = false));
  }, opts.pollMs);
  timer.unref();

  return {
    /**
     * A positioned emit handed over by an API process or a peer: delivered in order, once.
     * With `after`, not before what is queued on that stream now has been delivered (later
     * events of its own stream wait behind it).
     */
    receive(emit: EmitMessage, after?: StreamRef) {
      const stream: StreamRef = 'channel' in emit.to ? { channel: emit.to.channel } : 'user' in emit.to ? { user: emit.to.user } : (null as never);
      const t = tracker(stream, false);
      if (!t || emit.pos === undefined) return;
      const before = after && tracker(after, false)?.queue;
      if (before) {
        void enqueue(t, async () => {
          await before;
          take(t, [emit]);
        });
        return;
      }
      // Events that arrive before the stream's queued delivery step starts go out with it: one
      // step per stream and wave, not one per event (a chain of steps delivered a group
      // commit's posts of one channel a few microtasks apart, each in its own socket write).
      t.arrived.push(emit);
      if (t.arrived.length > 1) return;
      void enqueue(t, () => {
        const arrived = t.arrived;
        t.arrived = [];
        take(t, arrived);
      });
    },

    /**
     * Runs `join` in the stream's queue once this process has delivered everything up to the
     * stream's head, with that head: a socket that joins its room inside `join` receives live
     * every event after the head, and nothing before it. Joins that wait on the same stream
     * share one queued step (after a restart many sockets rejoin a channel at once): one head
     * read and one catch-up, then their `join`s run side by side, with the stream's later
     * events still queued behind all of them.
     */
    subscribe<T>(stream: StreamRef, join: (head: number) => Promise<T> | T): Promise<T> {
      const t = tracker(stream, true)!;
      return new Promise<T>((resolve, reject) => {
        const waiting = t.joins ?? queueJoinStep(t);
        waiting.push({ run: async (head) => resolve(await join(head)), fail: reject });
      });
    },

    /** Starts tracking a stream whose head was just read (a user's, on connect); returns where live delivery starts for a socket joining now. */
    track(stream: StreamRef, head: number): number {
      const t = tracker(stream, true)!;
      if (t.delivered < 0) t.delivered = head;
      return t.delivered;
    },

    /** Runs `step` after what is queued on the stream (a room change that must follow its events). */
    after(stream: StreamRef | null, step: () => void) {
      const t = stream && tracker(stream, false);
      if (t) void enqueue(t, step);
      else step();
    },

    /**
     * Runs `step` once this process has delivered the stream up to `pos` (read from the log
     * when it is behind: events that arrive late or never), with the position delivered then:
     * at once when it has (what is still queued comes after `pos`), else in the stream's queue;
     * without `pos`, after what is queued. At once, with `pos`, when this process does not
     * deliver the stream.
     */
    at(stream: StreamRef, pos: number | undefined, step: (delivered: number | undefined) => void) {
      const t = tracker(stream, false);
      if (!t) return step(pos);
      if (pos !== undefined && t.delivered >= pos) return step(t.delivered);
      void enqueue(t, async () => {
        try {
          if (pos !== undefined) await catchUp(t, pos);
        } finally {
          // Run even when the log could not be read: a lost access is never left in place.
          step(t.delivered < 0 ? pos : t.delivered);
        }
      });
    },

    poll,

    close() {
      closed = true;
      clearInterval(timer);
      for (const t of trackers.values()) clearTimeout(t.gapTimer);
    },
  };
}
export type StreamDelivery = ReturnType<typeof createStreamDelivery>;
