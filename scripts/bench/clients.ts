/**
 * The client processes of the fan-out and idle modes: each runs client-worker.ts and holds its
 * share of the sockets; this side hands out the sockets, sets the measured window, and merges
 * what they count.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DeliveryIntegrity } from '../bench-integrity.js';
import { LatencyHistogram, type ClientCommand, type ClientReply } from './client-protocol.js';

/** Next to this module when run from source; from the working directory when bundled (dist/bench.js), as the node's scripts are. */
const besideThis = fileURLToPath(new URL('./client-worker.ts', import.meta.url));
const WORKER = existsSync(besideThis) ? besideThis : 'scripts/bench/client-worker.ts';

type ReplyOf<T extends ClientReply['type']> = Extract<ClientReply, { type: T }>;

class Worker {
  private readonly waiting = new Map<string, { resolve: (r: ClientReply) => void; reject: (err: Error) => void }[]>();
  private exited: Error | null = null;

  constructor(readonly child: ChildProcess) {
    child.on('message', (r: ClientReply) => this.waiting.get(r.type)?.shift()?.resolve(r));
    child.on('exit', (code) => {
      this.exited = new Error(`a client process exited (${code})`);
      for (const list of this.waiting.values()) for (const w of list.splice(0)) w.reject(this.exited);
    });
  }

  ask<T extends ClientReply['type']>(cmd: ClientCommand | null, replyType: T): Promise<ReplyOf<T>> {
    if (this.exited) return Promise.reject(this.exited);
    const answer = new Promise<ReplyOf<T>>((resolve, reject) => {
      const list = this.waiting.get(replyType) ?? [];
      list.push({ resolve: (r) => resolve(r as ReplyOf<T>), reject });
      this.waiting.set(replyType, list);
    });
    if (cmd) this.child.send(cmd);
    return answer;
  }

  tell(cmd: ClientCommand): void {
    this.child.send(cmd);
  }
}

export interface ConnectResult {
  connected: number;
  failed: number;
  /** From the first connect to the last join ack, the slowest client process. */
  seconds: number;
  firstError?: string;
}

export class ClientPool {
  private constructor(private readonly workers: Worker[]) {}

  static async start(processes: number): Promise<ClientPool> {
    const workers = Array.from({ length: processes }, () => new Worker(fork(WORKER, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
    await Promise.all(workers.map((w) => w.ask(null, 'started')));
    return new ClientPool(workers);
  }

  get pids(): number[] {
    return this.workers.map((w) => w.child.pid!);
  }

  /** Socket i goes to client process i % P; each connects `batch` at a time. */
  async connect(url: string, sockets: { token: string; channelId: string }[], batch: number): Promise<ConnectResult> {
    const shares = this.workers.map((_, p) => sockets.filter((_, i) => i % this.workers.length === p));
    const replies = await Promise.all(this.workers.map((w, p) => w.ask({ type: 'connect', url, sockets: shares[p], batch }, 'connected')));
    return {
      connected: replies.reduce((n, r) => n + r.connected, 0),
      failed: replies.reduce((n, r) => n + r.failed, 0),
      seconds: Math.max(...replies.map((r) => r.ms)) / 1000,
      firstError: replies.find((r) => r.firstError)?.firstError,
    };
  }

  /** Posts stamped (monotonicMs) in [from, to) count for latency from now on; resets the histograms. */
  window(from: number, to: number): void {
    for (const w of this.workers) w.tell({ type: 'window', from, to });
  }

  /** message.created frames received so far, sockets joined, and sockets the node closed, over all processes. */
  async count(): Promise<{ received: number; joined: number; closed: number }> {
    const replies = await Promise.all(this.workers.map((w) => w.ask({ type: 'count' }, 'count')));
    const sum = (k: 'received' | 'joined' | 'closed') => replies.reduce((n, r) => n + r[k], 0);
    return { received: sum('received'), joined: sum('joined'), closed: sum('closed') };
  }

  /** Waits until `expected` message.created frames are in (or `timeoutMs` passed); returns the count. */
  async waitForReceived(expected: number, timeoutMs: number): Promise<{ received: number; joined: number; closed: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.count();
      if (c.received >= expected || Date.now() > deadline) return c;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Merged latency histogram and delivery integrity against the seqs each channel's posts returned. */
  async report(posted: Map<string, number[]>): Promise<{ histogram: LatencyHistogram; integrity: DeliveryIntegrity; received: number; closed: number }> {
    const replies = await Promise.all(this.workers.map((w) => w.ask({ type: 'report', posted: Object.fromEntries(posted) }, 'report')));
    const histogram = new LatencyHistogram();
    const integrity = { lost: 0, duplicated: 0, outOfOrder: 0 };
    for (const r of replies) {
      histogram.merge(r.histogram);
      integrity.lost += r.integrity.lost;
      integrity.duplicated += r.integrity.duplicated;
      integrity.outOfOrder += r.integrity.outOfOrder;
    }
    return { histogram, integrity, received: replies.reduce((n, r) => n + r.received, 0), closed: replies.reduce((n, r) => n + r.closed, 0) };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null) return resolve();
            w.child.once('exit', () => resolve());
            w.tell({ type: 'close' });
          }),
      ),
    );
  }
}

/**
 * Checks that the node's process and each client process may open enough files for their
 * sockets. Node raises its soft limit of open files to the hard limit at startup, and child
 * processes inherit the limits, so the hard limit of this process is what they get.
 */
export function checkOpenFiles(sockets: number, clientProcesses: number): void {
  let limit: number;
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const [soft, hard] = line!.slice('Max open files'.length).trim().split(/\s+/);
    limit = Math.min(Number(soft === 'unlimited' ? Infinity : soft), Number(hard === 'unlimited' ? Infinity : hard));
  } catch {
    return; // no /proc: nothing to check
  }
  // One descriptor per socket, plus the process's own (database pool, listeners, files).
  const needed = sockets + 256;
  const perClient = Math.ceil(sockets / clientProcesses) + 64;
  if (limit < needed) {
    throw new Error(
      `${sockets} sockets need about ${needed} open files in the node's process (and ${perClient} in each client process), but the limit is ${limit}: raise it (e.g. \`ulimit -n ${needed}\` as root or up to the hard limit) or ask for fewer sockets`,
    );
  }
}
