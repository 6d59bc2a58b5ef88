import type { Config } from '../config.js';
import { returnBucketToken, takeBucketToken, type RateBucketTableName } from '../db/dialect.js';
import type { DatabaseHandle } from '../db/index.js';
import { rateLimited } from '../errors.js';
import { createLogger } from '../logger.js';

const log = createLogger('flood-limits');

/**
 * The flood limits of messages, per user and channel: posts (agent-rooms.md "Flood control")
 * and edits (docs/operating-limits.md: the contract is silent on edits, and each edit writes
 * the whole new content into the channel's event log). Each is a token bucket of its own, of
 * `burst` tokens refilled at `ratePerSecond`, so that editing never spends a user's posts.
 *
 * A bucket is kept as one number, the time at which it would be full again (GCRA's
 * "theoretical arrival time"): a token fits when pushing that time one interval further
 * leaves it at most `burst` intervals ahead of now. One number means one conditional upsert,
 * atomic on both databases, so a limit holds across every API process sharing the database.
 */
export interface PostRate {
  /** Microseconds one token takes to refill. */
  intervalUs: number;
  /** `burst` intervals: how far ahead of now a bucket may run. */
  capacityUs: number;
}

function rateOf(ratePerSecond: number, burst: number): PostRate | null {
  if (ratePerSecond <= 0) return null;
  const intervalUs = Math.max(1, Math.round(1_000_000 / ratePerSecond));
  return { intervalUs, capacityUs: intervalUs * burst };
}

/** The post bucket's shape, or null when the post limit is off (rate 0). */
export const postRateOf = (config: Pick<Config, 'postRatePerSecond' | 'postBurst'>) => rateOf(config.postRatePerSecond, config.postBurst);

/** The edit bucket's shape, or null when the edit limit is off (rate 0). */
export const editRateOf = (config: Pick<Config, 'editRatePerSecond' | 'editBurst'>) => rateOf(config.editRatePerSecond, config.editBurst);

export type BucketDecision = { taken: true; tatUs: number } | { taken: false; waitUs: number };

/** The rule both databases' statements apply, as a pure function (`tatUs` undefined: no bucket yet, so a full one). */
export function decidePost(tatUs: number | undefined, nowUs: number, rate: PostRate): BucketDecision {
  const next = Math.max(tatUs ?? nowUs, nowUs) + rate.intervalUs;
  return next - nowUs <= rate.capacityUs ? { taken: true, tatUs: next } : { taken: false, waitUs: next - nowUs - rate.capacityUs };
}

/** `Retry-After` for a wait: whole seconds, at least 1. */
export const retryAfterSeconds = (waitUs: number) => Math.max(1, Math.ceil(waitUs / 1_000_000));

export interface PostToken {
  /** Gives the token back (the write stored nothing); safe to call more than once; never throws. */
  giveBack(): Promise<void>;
}

export const NOTHING_TO_GIVE_BACK: PostToken = { giveBack: async () => {} };

/**
 * Takes one post from the bucket of `userId` in `channelId`, or throws 429 `rate_limited`
 * with `Retry-After`. With the limit off, takes nothing.
 */
export const takePostToken = (database: DatabaseHandle, config: Pick<Config, 'postRatePerSecond' | 'postBurst'>, channelId: string, userId: string) =>
  takeToken(database, 'post_rate_buckets', postRateOf(config), { channelId, userId }, 'too many posts in this channel; retry later');

/** Takes one edit from the edit bucket of `userId` in `channelId`, or throws 429 `rate_limited` with `Retry-After`. */
export const takeEditToken = (database: DatabaseHandle, config: Pick<Config, 'editRatePerSecond' | 'editBurst'>, channelId: string, userId: string) =>
  takeToken(database, 'edit_rate_buckets', editRateOf(config), { channelId, userId }, 'too many edits in this channel; retry later');

async function takeToken(
  database: DatabaseHandle,
  table: RateBucketTableName,
  rate: PostRate | null,
  key: { channelId: string; userId: string },
  refusal: string,
): Promise<PostToken> {
  if (!rate) return NOTHING_TO_GIVE_BACK;
  const waitUs = await takeBucketToken(database, table, key, rate.intervalUs, rate.capacityUs);
  if (waitUs > 0) throw rateLimited(refusal, retryAfterSeconds(waitUs));
  let given = false;
  return {
    async giveBack() {
      if (given) return;
      given = true;
      // Best effort: a give-back lost to a database error costs the user one token of its budget.
      await returnBucketToken(database, table, key, rate.intervalUs).catch((err: unknown) =>
        log.warn('could not give a token back to its bucket', { table, error: err instanceof Error ? err.message : String(err) }),
      );
    },
  };
}
