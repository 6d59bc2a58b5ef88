import { Cron } from 'croner';
import type { AppContext } from '../context.js';
import { runSweep, type SweepResult } from '../files/sweep.js';
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
}

/**
 * Background jobs of an API process: the retention sweep on FILE_SWEEP_CRON and the event
 * log trim on EVENT_TRIM_CRON. Every API process schedules them; their leases let only one
 * process work on each at a time.
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
    throw new Error(`FABRIC_BACKEND_GUILD_FILE_SWEEP_CRON is invalid: ${err instanceof Error ? err.message : String(err)}`);
  }
  const trim = new Cron(
    ctx.config.eventTrimCron,
    { protect: true, catch: (err) => log.error('event log trim failed', { error: err instanceof Error ? err.message : String(err) }) },
    async () => {
      const result = await runLogTrim(ctx);
      if (result.deleted > 0) log.info('event log trimmed', { deleted: result.deleted });
    },
  );
  return {
    async stop() {
      trim.stop();
      job.stop();
      abort.abort();
      await running.catch(() => undefined);
    },
  };
}
