import { Cron } from 'croner';
import type { AppContext } from '../context.js';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { acquireLease, releaseLease, renewLease } from '../files/lease.js';
import { runSweep, type SweepResult } from '../files/sweep.js';
import { fireDueSpeakerTimeouts } from '../turns/speaker-timeouts.js';
import { createLogger } from '../logger.js';
import { runLogTrim } from '../realtime/log-trim.js';

const log = createLogger('jobs');

export interface BackgroundJobs {
  /** Stops the schedule and waits for a running sweep to stop at its next batch. */
  stop(): Promise<void>;
}

export interface BackgroundJobOptions {
  /** Told of every finished scheduled sweep (tests and diagnostics). */
  onSweep?: (result: SweepResult) => void;
  /** How often the speaker-timeout timer looks for due deadlines (default 1000 ms). */
  speakerTimerMs?: number;
}

export const SPEAKER_TIMER_LEASE = 'speaker-timeouts';
/** The timer's lease outlives a few missed ticks, so a stalled holder is replaced within seconds. */
const SPEAKER_LEASE_MS = 10_000;

/**
 * The speaker-timeout timer: every tick, the process holding the `speaker-timeouts` lease
 * (taken when free or expired, renewed while held) fires the due deadlines. Deadlines live
 * in the database, so one that passed while every process was down fires at the first tick
 * after startup.
 */
export function startSpeakerTimer(ctx: AppContext, everyMs = 1000): () => Promise<void> {
  const holder = `${os.hostname().slice(0, 32)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const { db } = ctx.database;
  let held = false;
  let running: Promise<void> | null = null;
  const tick = async () => {
    const now = Date.now();
    held = held ? await renewLease(db, SPEAKER_TIMER_LEASE, holder, SPEAKER_LEASE_MS, now) : false;
    if (!held) held = await acquireLease(db, SPEAKER_TIMER_LEASE, holder, SPEAKER_LEASE_MS, now);
    if (held) await fireDueSpeakerTimeouts(ctx);
  };
  const timer = setInterval(() => {
    if (running) return; // a slow pass is not overlapped by the next
    running = tick()
      .catch((err) => log.error('speaker timeouts failed', { error: err instanceof Error ? err.message : String(err) }))
      .finally(() => (running = null));
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
    if (held) await releaseLease(db, SPEAKER_TIMER_LEASE, holder).catch(() => undefined);
  };
}

/**
 * Background jobs of a long-lived process: the retention sweep on FILE_SWEEP_CRON, the event
 * log trim on EVENT_TRIM_CRON and the speaker-timeout timer. Every such process schedules
 * them; their leases let only one process work on each at a time.
 */
export function startBackgroundJobs(ctx: AppContext, opts: BackgroundJobOptions = {}): BackgroundJobs {
  const abort = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const sweep = async () => {
    const result = await runSweep(ctx, { signal: abort.signal });
    if (result.skipped) log.debug('sweep skipped: another process is sweeping', { heldBy: result.heldBy });
    opts.onSweep?.(result);
  };
  let job: Cron;
  try {
    job = new Cron(
      ctx.config.fileSweepCron,
      {
        // A sweep slower than the interval is not started twice by this process.
        protect: true,
        catch: (err) => log.error('sweep failed', { error: err instanceof Error ? err.message : String(err) }),
      },
      () => (running = sweep()),
    );
  } catch (err) {
    throw new Error(`FABRIC_BACKEND_GUILD_FILE_SWEEP_CRON is invalid: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const trim = new Cron(
    ctx.config.eventTrimCron,
    { protect: true, catch: (err) => log.error('event log trim failed', { error: err instanceof Error ? err.message : String(err) }) },
    async () => {
      const result = await runLogTrim(ctx);
      if (result.deleted > 0) log.info('event log trimmed', { deleted: result.deleted });
    },
  );
  const stopSpeakerTimer = startSpeakerTimer(ctx, opts.speakerTimerMs ?? 1000);
  return {
    async stop() {
      trim.stop();
      job.stop();
      abort.abort();
      await Promise.all([running.catch(() => undefined), stopSpeakerTimer()]);
    },
  };
}
