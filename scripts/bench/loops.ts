/**
 * The closed posting loops of the post-path modes, their measured window, and the statistics
 * shared by every mode (percentiles, seq integrity, CPU of the processes taking part).
 */
import { performance } from 'node:perf_hooks';
import { cpuSnapshot, cpuUsage, type CpuProcess, type CpuUsage } from '../bench-cpu.js';
import type { DeliveryIntegrity } from '../bench-integrity.js';
import { progress, progressDone } from './options.js';

/** `http-compare`: the HTTP run of the node started from the checkout given with --compare. */
export type RunMode = 'http' | 'http-compare' | 'raw' | 'raw-ceiling' | 'split';

export interface Settings {
  concurrency: number;
  channels: number;
  users: number;
  subscribers: number;
  duration: number;
  warmup: number;
  pool: number;
}

export interface Percentiles {
  p50: number;
  p99: number;
}

export interface RunResult {
  mode: RunMode;
  /** Which round the run belonged to (its raw and HTTP runs ran back to back). */
  round?: number;
  posts: number;
  errors: number;
  seconds: number;
  throughput: number;
  postLatencyMs: { p50: number; p95: number; p99: number };
  delivery?: { p50: number; p99: number; delivered: number; expected: number };
  /** Per subscriber, against the seqs the posts of its channel returned (HTTP runs). */
  deliveryIntegrity?: DeliveryIntegrity;
  /** Split mode: per post, from its HTTP response to its first delivery (ms). */
  handoverMs?: Percentiles;
  seq: { duplicates: number; gaps: number };
  /** CPU per post during the measured window (Linux): the node, this process, a local database server. */
  cpu?: CpuUsage;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export const round = (n: number) => Math.round(n * 100) / 100;

/** p50 and p99 of unsorted samples, rounded (sorts them in place). */
export function percentiles(samples: number[]): Percentiles {
  samples.sort((a, b) => a - b);
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)) };
}

export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seq integrity from what the posts returned: every channel must hold first..last with no duplicates and no gaps. */
export function seqIntegrity(seqsByChannel: Map<string, number[]>) {
  let duplicates = 0;
  let gaps = 0;
  for (const seqs of seqsByChannel.values()) {
    const sorted = [...seqs].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i] === sorted[i - 1]) duplicates++;
      else gaps += sorted[i] - sorted[i - 1] - 1;
    }
  }
  return { duplicates, gaps };
}

/** Posts sent in [from, to) are measured; the ones before are warm-up. */
export interface MeasureWindow {
  start: number;
  from: number;
  to: number;
}

export function measureWindow(settings: Pick<Settings, 'warmup' | 'duration'>): MeasureWindow {
  const start = performance.now();
  const from = start + settings.warmup * 1000;
  return { start, from, to: from + settings.duration * 1000 };
}

/** Takes a CPU snapshot of `processes` at the window's start and end; `usage(n)` divides by n. */
export function cpuOverWindow(processes: readonly CpuProcess[], window: MeasureWindow) {
  const cpu: { from?: ReturnType<typeof cpuSnapshot>; to?: ReturnType<typeof cpuSnapshot> } = {};
  const timers = [
    setTimeout(() => (cpu.from = cpuSnapshot(processes)), window.from - performance.now()),
    setTimeout(() => (cpu.to = cpuSnapshot(processes)), window.to - performance.now()),
  ];
  return {
    usage: (n: number): CpuUsage | undefined => (cpu.from && cpu.to ? (cpuUsage(cpu.from, cpu.to, n) ?? undefined) : undefined),
    cancel: () => timers.forEach(clearTimeout),
  };
}

/** A progress line for a run of warm-up + duration seconds, every 250 ms on a terminal. */
export function progressTicker(label: string, window: MeasureWindow, total: number, count: () => string): () => void {
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - window.start) / 1000;
    const width = 30;
    const done = Math.min(width, Math.round((elapsed / total) * width));
    progress(`${label} [${'#'.repeat(done)}${' '.repeat(width - done)}] ${elapsed.toFixed(0)}/${total}s ${count()}`);
  }, 250);
  return () => {
    clearInterval(ticker);
    progressDone();
  };
}

/** Runs `settings.concurrency` workers until the deadline; each call returns the seq and channel of a stored post. */
export async function runLoops(
  settings: Settings,
  cpuProcesses: readonly CpuProcess[],
  label: string,
  post: (loop: number, n: number) => Promise<{ channelId: string; seq: number }>,
  window: MeasureWindow = measureWindow(settings),
): Promise<Omit<RunResult, 'mode' | 'delivery'>> {
  const latencies: number[] = [];
  const cpu = cpuOverWindow(cpuProcesses, window);
  const seqsByChannel = new Map<string, number[]>();
  let errors = 0;
  let posts = 0;
  const { from: measuredFrom, to: deadline } = window;
  const stopTicker = progressTicker(label, window, settings.warmup + settings.duration, () => `posts ${posts}`);
  await Promise.all(
    Array.from({ length: settings.concurrency }, async (_, loop) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const t0 = performance.now();
        try {
          const r = await post(loop, n);
          const t1 = performance.now();
          const list = seqsByChannel.get(r.channelId) ?? [];
          list.push(r.seq);
          seqsByChannel.set(r.channelId, list);
          if (t0 >= measuredFrom) {
            latencies.push(t1 - t0);
            posts++;
          }
        } catch (err) {
          errors++;
          if (errors <= 3) console.error(`\n${label}: post failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }),
  );
  cpu.cancel();
  stopTicker();
  latencies.sort((a, b) => a - b);
  const seconds = settings.duration;
  return {
    posts,
    errors,
    seconds,
    throughput: round(posts / seconds),
    postLatencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
    seq: seqIntegrity(seqsByChannel),
    cpu: cpu.usage(posts),
  };
}
