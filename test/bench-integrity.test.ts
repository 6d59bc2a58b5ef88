/**
 * The delivery check of the benchmark's regression guard (`npm run bench -- --quick`): it must
 * see every kind of fault it is there to catch, and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { deliveryIntegrity } from '../scripts/bench-integrity.js';

const posted = new Map([
  ['a', [1, 2, 3]],
  ['b', [1, 2]],
]);
const channelOf = (subscriber: number) => (subscriber < 2 ? 'a' : 'b');

describe('deliveryIntegrity', () => {
  it('finds nothing when every subscriber got its channel once, in seq order', () => {
    expect(
      deliveryIntegrity(
        [
          [1, 2, 3],
          [1, 2, 3],
          [1, 2],
          [1, 2],
        ],
        channelOf,
        posted,
      ),
    ).toEqual({ lost: 0, duplicated: 0, outOfOrder: 0 });
  });

  it('counts a lost, a duplicated and an out-of-order delivery, per subscriber', () => {
    expect(
      deliveryIntegrity(
        [
          [1, 3],
          [1, 2, 2, 3],
          [2, 1],
          [1, 2],
        ],
        channelOf,
        posted,
      ),
    ).toEqual({ lost: 1, duplicated: 1, outOfOrder: 1 });
  });

  it('a subscriber that got nothing lost every post of its channel', () => {
    expect(deliveryIntegrity([[1, 2, 3], [1, 2, 3], [], [1, 2]], channelOf, posted)).toEqual({ lost: 2, duplicated: 0, outOfOrder: 0 });
  });
});
