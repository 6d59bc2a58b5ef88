/**
 * What the benchmark and its client processes (client-worker.ts) say to each other over IPC,
 * the clock they share, and the latency histogram the client processes fill and the benchmark
 * merges.
 */
import type { DeliveryIntegrity } from '../bench-integrity.js';

/** Milliseconds on the machine's monotonic clock (CLOCK_MONOTONIC): the same in every process. */
export const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

export type ClientCommand =
  | { type: 'connect'; url: string; sockets: { token: string; channelId: string }[]; batch: number }
  /** Posts sent (monotonicMs) in [from, to) count for latency. */
  | { type: 'window'; from: number; to: number }
  | { type: 'count' }
  /** `posted`: the seqs each channel's posts returned, for the integrity check. */
  | { type: 'report'; posted: Record<string, number[]> }
  | { type: 'close' };

export type ClientReply =
  | { type: 'started' }
  | { type: 'connected'; connected: number; failed: number; ms: number; firstError?: string }
  /** `received`: message.created frames of the sockets' channels so far; `joined`: sockets connected and joined; `closed`: sockets the node closed. */
  | { type: 'count'; received: number; joined: number; closed: number }
  | { type: 'report'; histogram: HistogramJSON; integrity: DeliveryIntegrity; received: number; closed: number };

export interface HistogramJSON {
  counts: number[];
  overflow: number[];
}

/** Latencies in 0.1 ms buckets up to 5 s (exact beyond), mergeable across processes. */
export class LatencyHistogram {
  static readonly BUCKET_MS = 0.1;
  static readonly BUCKETS = 50_000;
  counts: number[] = new Array(LatencyHistogram.BUCKETS).fill(0);
  overflow: number[] = [];

  add(ms: number): void {
    const i = Math.floor(Math.max(0, ms) / LatencyHistogram.BUCKET_MS);
    if (i < LatencyHistogram.BUCKETS) this.counts[i]++;
    else this.overflow.push(ms);
  }

  merge(h: HistogramJSON): void {
    h.counts.forEach((n, i) => (this.counts[i] += n));
    this.overflow.push(...h.overflow);
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0) + this.overflow.length;
  }

  /** The p-th percentile (upper edge of its bucket), NaN when empty. */
  percentile(p: number): number {
    const total = this.total;
    if (total === 0) return NaN;
    const rank = Math.min(total - 1, Math.floor((p / 100) * total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen > rank) return (i + 1) * LatencyHistogram.BUCKET_MS;
    }
    const sorted = [...this.overflow].sort((a, b) => a - b);
    return sorted[rank - seen];
  }

  toJSON(): HistogramJSON {
    return { counts: this.counts, overflow: this.overflow };
  }
}
