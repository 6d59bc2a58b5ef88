/**
 * The delivery check of `npm run bench` (its `--quick` regression guard fails on it): what
 * each subscriber received of its channel, against the seqs that channel's posts returned.
 */
/** What subscribers missed, received twice, or received after a later seq of the same channel. */
export interface DeliveryIntegrity {
  lost: number;
  duplicated: number;
  outOfOrder: number;
}

/** `received[i]`: the seqs subscriber i got, in arrival order; `posted`: the seqs its channel's posts returned. */
export function deliveryIntegrity(received: readonly number[][], channelOf: (subscriber: number) => string, posted: ReadonlyMap<string, number[]>): DeliveryIntegrity {
  const result = { lost: 0, duplicated: 0, outOfOrder: 0 };
  received.forEach((seqs, i) => {
    const got = new Set(seqs);
    result.duplicated += seqs.length - got.size;
    for (let j = 1; j < seqs.length; j++) if (seqs[j] < seqs[j - 1]) result.outOfOrder++;
    for (const seq of posted.get(channelOf(i)) ?? []) if (!got.has(seq)) result.lost++;
  });
  return result;
}
