/**
 * lib/messages/flood-limits.ts: the token bucket rule of agent-rooms.md "Flood control",
 * kept as one time per bucket, as a pure function (the databases apply the same rule in one
 * statement; test/messages-flood.test.ts checks them through HTTP).
 */
import { describe, expect, it } from 'vitest';
import { decidePost, postRateOf, retryAfterSeconds, type PostRate } from '../lib/messages/flood-limits.js';

const S = 1_000_000;

describe('postRateOf', () => {
  it.each([
    [
      { postRatePerSecond: 5, postBurst: 60 },
      { intervalUs: 200_000, capacityUs: 12 * S },
    ],
    [
      { postRatePerSecond: 0.5, postBurst: 3 },
      { intervalUs: 2 * S, capacityUs: 6 * S },
    ],
    [
      { postRatePerSecond: 3, postBurst: 1 },
      { intervalUs: 333_333, capacityUs: 333_333 },
    ],
  ])('%o is a bucket of %o', (config, rate) => expect(postRateOf(config)).toEqual(rate));

  it('is off (null) at rate 0', () => expect(postRateOf({ postRatePerSecond: 0, postBurst: 60 })).toBeNull());
});

describe('decidePost', () => {
  const rate: PostRate = { intervalUs: S, capacityUs: 3 * S }; // 1 post/s, burst 3

  it('lets a full burst through at once, then refuses with the wait until one post fits', () => {
    let tat: number | undefined;
    for (let i = 0; i < 3; i++) {
      const d = decidePost(tat, 0, rate);
      expect(d.taken).toBe(true);
      if (d.taken) tat = d.tatUs;
    }
    expect(decidePost(tat, 0, rate)).toEqual({ taken: false, waitUs: S });
    expect(decidePost(tat, 400_000, rate)).toEqual({ taken: false, waitUs: 600_000 });
    expect(decidePost(tat, S, rate)).toEqual({ taken: true, tatUs: 4 * S });
  });

  it.each([
    ['a missing bucket is full', undefined, 10 * S, { taken: true, tatUs: 11 * S }],
    ['a bucket idle for long is full, never more', 2 * S, 100 * S, { taken: true, tatUs: 101 * S }],
    ['a bucket one post from empty takes it', 12 * S, 10 * S, { taken: true, tatUs: 13 * S }],
    ['an empty bucket refuses', 13 * S, 10 * S, { taken: false, waitUs: S }],
    ['a refusal far ahead waits longer', 13 * S + 500_000, 10 * S, { taken: false, waitUs: 1_500_000 }],
  ])('%s', (_, tat, now, expected) => expect(decidePost(tat, now, rate)).toEqual(expected));

  it('refills at the rate: over 10 s of one post per 400 ms, 3 + 10 posts fit', () => {
    let tat: number | undefined;
    let taken = 0;
    for (let now = 0; now <= 10 * S; now += 400_000) {
      const d = decidePost(tat, now, rate);
      if (d.taken) {
        taken++;
        tat = d.tatUs;
      }
    }
    expect(taken).toBe(13);
  });
});

describe('retryAfterSeconds', () => {
  it.each([
    [1, 1],
    [999_999, 1],
    [S, 1],
    [S + 1, 2],
    [12 * S, 12],
  ])('%i µs → %i s', (waitUs, seconds) => expect(retryAfterSeconds(waitUs)).toBe(seconds));
});
