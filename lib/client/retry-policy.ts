/**
 * When a post is sent again (api.md: a post retried with its `clientMsgId` is stored once).
 * Pure: the caller performs the request and the wait.
 */
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';

/** How one try ended: no HTTP answer at all, or an HTTP status (with its `Retry-After`, in ms). */
export type TryOutcome = { kind: 'network' } | { kind: 'status'; status: number; retryAfterMs?: number | null };

export interface RetryPolicy {
  /** Most tries in all, the first one included (network errors and 5xx). */
  maxAttempts: number;
  backoff: BackoffOptions;
  /** Used when a 429 carries no usable `Retry-After`. */
  defaultRetryAfterMs: number;
  /** A 429 asking to wait longer than this is not retried (the caller gets the error). */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 6,
  backoff: DEFAULT_BACKOFF,
  defaultRetryAfterMs: 1000,
  maxRetryAfterMs: 60_000,
});

/** What happened so far: tries made (≥ 1 when deciding) and 429s already waited out. */
export interface RetryHistory {
  attempts: number;
  rateLimitedRetries: number;
}

export type RetryDecision = { retry: false } | { retry: true; delayMs: number; rateLimited: boolean };

/**
 * Network errors, 5xx and 503 are retried with backoff while tries remain; a 429 is retried
 * exactly once, after its `Retry-After`; any other answer (2xx, 4xx) is final.
 */
export function decideRetry(outcome: TryOutcome, history: RetryHistory, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random: () => number = Math.random): RetryDecision {
  if (outcome.kind === 'status' && outcome.status === 429) {
    if (history.rateLimitedRetries > 0) return { retry: false };
    const wait = outcome.retryAfterMs ?? policy.defaultRetryAfterMs;
    if (wait > policy.maxRetryAfterMs) return { retry: false };
    return { retry: true, delayMs: wait, rateLimited: true };
  }
  const transient = outcome.kind === 'network' || outcome.status >= 500;
  if (!transient || history.attempts >= policy.maxAttempts) return { retry: false };
  return { retry: true, delayMs: backoffDelay(history.attempts, policy.backoff, random), rateLimited: false };
}

/**
 * A `Retry-After` header in milliseconds: whole seconds (api.md) or an HTTP date; null when
 * absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | null {
  if (header == null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date names its day and month; anything else (e.g. "-3") is not one.
  const at = /^[a-z]{3}, /i.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
