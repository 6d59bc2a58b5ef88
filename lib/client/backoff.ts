/** Exponential backoff with jitter, shared by reconnects, joins and post retries. */
export interface BackoffOptions {
  /** Delay ceiling of the first retry. */
  baseMs: number;
  /** No delay ever exceeds this. */
  maxMs: number;
  /** Growth of the ceiling per attempt (default 2). */
  factor?: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = Object.freeze({ baseMs: 250, maxMs: 10_000, factor: 2 });

/**
 * The delay before retry number `attempt` (1 for the first retry): the ceiling grows by
 * `factor` per attempt up to `maxMs`, and the delay is drawn between half the ceiling and the
 * ceiling, so that clients cut off together do not come back together and never retry at once.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const n = Math.max(1, Math.floor(attempt));
  const ceiling = Math.min(opts.maxMs, opts.baseMs * (opts.factor ?? 2) ** (n - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Resolves after `ms`; rejects early with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
