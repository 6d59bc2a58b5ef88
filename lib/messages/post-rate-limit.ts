import type { Config } from '../config.js';
import { returnBucketToken, takeBucketToken } from '../db/dialect.js';
import type { DatabaseHandle } from '../db/index.js';
import { rateLimited } from '../errors.js';
import { createLogger } from '../logger.js';

const log = createLogger('post-rate');

/**
 * The post flood limit (agent-rooms.md "Flood control"): per user and channel, a token bucket
 * of `burst` posts refilled at `ratePerSecond`. It is kept as one number per bucket, the time
 * at which the bucket would be full again (GCRA's "theoretical arrival time"): a post fits
 * when pushing that time one interval further leaves it at most `burst` intervals ahead of
 * now. One number means one conditional upsert, atomic on both databases, so the limit holds
 * across every API process sharing the database (docs/operating-limits.md).
 */
export interface PostRate {
  /** Microseconds one post takes to refill. */
  intervalUs: number;
  /** `burst` intervals: how far ahead of now a bucket may run. */
  capacityUs: number;
}

/** The bucket shape of the config, or null when the limit is off (rate 0). */
export function postRateOf(config: Pick<Config, 'postRatePerSecond' | 'postBurst'>): PostRate | null {
  if (config.postRatePerSecond <= 0) return null;
  const intervalUs = Math.max(1, Math.round(1_000_000 / config.postRatePerSecond));
  return { intervalUs, capacityUs: intervalUs * config.postBurst };
}

export type BucketDecision = { taken: true; tatUs: number } | { taken: false; waitUs: number };

/** The rule both databases' statements apply, as a pure function (`tatUs` undefined: no bucket yet, so a full one). */
export function decidePost(tatUs: number | undefined, nowUs: number, rate: PostRate): BucketDecision {
  const next = Math.max(tatUs ?? nowUs, nowUs) + rate.intervalUs;
  return next - nowUs <= rate.capacityUs ? { taken: true, tatUs: next } : { taken: false, waitUs: next - nowUs - rate.capacityUs };
}

/** `Retry-After` for a wait: whole seconds, at least 1. */
export const retryAfterSeconds = (waitUs: number) => Math.max(1, Math.ceil(waitUs / 1_000_000));

export interface PostToken {
  /** Gives the post back (the post stored nothing); safe to call more than once; never throws. */
  giveBack(): Promise<void>;
}

export const NOTHING_TO_GIVE_BACK: PostToken = { giveBack: async () => {} };

/**
 * Takes one post from the bucket of `userId` in `channelId`, or throws 429 `rate_limited`
 * with `Retry-After`. With the limit off, takes nothing.
 */
export async function takePostToken(database: DatabaseHandle, config: Pick<Config, 'postRatePerSecond' | 'postBurst'>, channelId: string, userId: string): Promise<PostToken> {
  const rate = postRateOf(config);
  if (!rate) return NOTHING_TO_GIVE_BACK;
  const key = { channelId, userId };
  const waitUs = await takeBucketToken(database, key, rate.intervalUs, rate.capacityUs);
  if (waitUs > 0) throw rateLimited('too many posts in this channel; retry later', retryAfterSeconds(waitUs));
  let given = false;
  return {
    async giveBack() {
      if (given) return;
      given = true;
      // Best effort: a give-back lost to a database error costs the user one post of its budget.
      await returnBucketToken(database, key, rate.intervalUs).catch((err: unknown) =>
        log.warn('could not give a post back to its bucket', { error: err instanceof Error ? err.message : String(err) }),
      );
    },
  };
}
