/**
 * `npm run bench -- --mode idle`: what connected, idle sockets cost one node process —
 * memory per socket over the process's baseline, event-loop lag, connect rate — and whether a
 * post still reaches every one of them. The sockets live in client processes (clients.ts).
 */
import { readFileSync } from 'node:fs';
import { ClientPool, checkOpenFiles } from './clients.js';
import { monotonicMs } from './client-protocol.js';
import { int, progress, progressDone, values } from './options.js';
import { round, sleep } from './loops.js';
import { PostConnection } from './post-connection.js';
import { seed } from './seed.js';
import { metricValue, scrape, startTarget, type NodeProcess } from './target.js';

/** prom-client samples the event loop every 10 ms: its delays include that interval. */
const LAG_RESOLUTION_MS = 10;

interface Memory {
  rssMb: number;
  heapUsedMb: number;
}

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** RSS and V8 heap used, the lowest of `samples` readings 500 ms apart (the heap between collections). */
async function memoryOf(node: NodeProcess, samples = 5): Promise<Memory> {
  let rss = Infinity;
  let heap = Infinity;
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(500);
    rss = Math.min(rss, rssBytes(node.pid));
    heap = Math.min(heap, metricValue(await scrape(node), 'fabric_nodejs_heap_size_used_bytes') ?? NaN);
  }
  return { rssMb: round(rss / 2 ** 20), heapUsedMb: round(heap / 2 ** 20) };
}

/** The node's event-loop delay p99 over each second of `seconds`, in ms (prom-client resets its histogram on each scrape). */
async function lagSamples(node: NodeProcess, seconds: number, label: string): Promise<number[]> {
  await scrape(node); // starts a fresh interval
  const samples: number[] = [];
  for (let i = 0; i < seconds; i++) {
    progress(`${label} ${i}/${seconds}s`);
    await sleep(1000);
    const p99 = metricValue(await scrape(node), 'fabric_nodejs_eventloop_lag_p99_seconds');
    if (p99 !== undefined && Number.isFinite(p99)) samples.push(p99 * 1000);
  }
  progressDone();
  return samples;
}

const lagOf = (samples: number[]) => ({
  /** The worst per-second p99, less the 10 ms sampling interval. */
  p99Ms: samples.length ? round(Math.max(0, Math.max(...samples) - LAG_RESOLUTION_MS)) : NaN,
  /** The median per-second p99, likewise. */
  medianP99Ms: samples.length ? round(Math.max(0, [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)] - LAG_RESOLUTION_MS)) : NaN,
});

/** Center calls (by path) and cache lookups (by cache and result) the node counted (its metrics). */
function centerCounts(page: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const m of page.matchAll(/^fabric_center_call_duration_seconds_(count|sum)\{([^}]*)\} ([0-9.eE+-]+)/gm)) {
    const path = /path="([^"]*)"/.exec(m[2])?.[1] ?? '?';
    const key = `${m[1] === 'count' ? 'calls' : 'seconds'} ${path}`;
    counts[key] = (counts[key] ?? 0) + Number(m[3]);
  }
  for (const m of page.matchAll(/^fabric_center_cache_lookups_total\{([^}]*)\} (\d+)/gm)) {
    const cache = /cache="([^"]*)"/.exec(m[1])?.[1] ?? '?';
    const result = /result="([^"]*)"/.exec(m[1])?.[1] ?? '?';
    counts[`cache ${cache} ${result}`] = (counts[`cache ${cache} ${result}`] ?? 0) + Number(m[2]);
  }
  return counts;
}

const countsSince = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, round(v - (before[k] ?? 0))])
      .filter(([, v]) => v !== 0),
  );

export async function runIdle(): Promise<void> {
  const sockets = int('sockets', 10_000, 1, 50_000);
  const channels = int('channels', 100, 1, 1000);
  const users = int('users', 500, 1, 20_000);
  const clientProcs = int('client-procs', 4, 1, 64);
  const batch = int('connect-batch', 50, 1, 1000);
  const idleSeconds = int('idle', 10, 1, 600);
  checkOpenFiles(sockets, clientProcs);
  const target = await startTarget({ pool: int('pool', 10, 1, 200) });
  const node = target.processes[0];
  let pool: ClientPool | undefined;
  try {
    progress(`idle: seeding ${users} users, ${channels} channels`);
    const seeded = await seed(target, { users, channels });
    pool = await ClientPool.start(clientProcs);
    progress('idle: baseline');
    await sleep(2000);
    const before = await memoryOf(node);
    const baselineLag = lagOf(await lagSamples(node, 3, 'idle: baseline lag'));
    const centerBefore = centerCounts(await scrape(node));
    // Socket i: user i % U (each user's first socket comes early), in that user's channel.
    const list = Array.from({ length: sockets }, (_, i) => {
      const u = i % users;
      return { token: seeded.users[u].token, channelId: seeded.channels[u % channels].id };
    });
    progress(`idle: connecting ${sockets} sockets`);
    const connectLag: number[] = [];
    let connecting = true;
    const lagWatch = (async () => {
      await scrape(node);
      while (connecting) {
        await sleep(1000);
        if (connecting) progress(`idle: connecting, ${(await pool!.count()).joined} of ${sockets} sockets joined`);
        const p99 = metricValue(await scrape(node), 'fabric_nodejs_eventloop_lag_p99_seconds');
        if (p99 !== undefined) connectLag.push(p99 * 1000);
      }
    })();
    const connected = await pool.connect(target.realtimeUrl, list, batch);
    connecting = false;
    await lagWatch;
    progressDone();
    if (connected.failed > 0) console.error(`idle: ${connected.failed} of ${sockets} sockets did not connect (first error: ${connected.firstError})`);
    const centerAfter = centerCounts(await scrape(node));
    const idleLag = lagOf(await lagSamples(node, idleSeconds, `idle: ${connected.connected} sockets idle`));
    const after = await memoryOf(node);
    // One post per channel: every socket must get the one of its channel.
    progress('idle: one post per channel');
    const posted = new Map<string, number[]>(seeded.channels.map((ch) => [ch.id, []]));
    const from = monotonicMs();
    pool.window(from, from + 60_000);
    const conn = new PostConnection(target.url);
    for (const ch of seeded.channels) {
      const author = seeded.users[ch.members[0]];
      const { message } = await conn.postJson<{ message: { seq: number } }>(`/api/channels/${ch.id}/messages`, author.token, { content: `f:${monotonicMs()}` });
      posted.get(ch.id)!.push(message.seq);
    }
    conn.close();
    await pool.waitForReceived(connected.connected, 30_000);
    const report = await pool.report(posted);
    progressDone();
    const perSocket = (a: number, b: number) => round(((b - a) * 1024) / Math.max(1, connected.connected));
    const result = {
      settings: { sockets, channels, users, clientProcs, connectBatch: batch, idleSeconds },
      connected: connected.connected,
      failed: connected.failed,
      connectSeconds: round(connected.seconds),
      connectsPerSecond: round(connected.connected / connected.seconds),
      memory: { before, after, perSocketKb: { rss: perSocket(before.rssMb, after.rssMb), heapUsed: perSocket(before.heapUsedMb, after.heapUsedMb) } },
      eventLoopLagMs: { baseline: baselineLag, whileConnecting: lagOf(connectLag), idle: idleLag },
      /** While connecting: Center calls and their seconds by path, cache lookups by cache and result. */
      center: countsSince(centerBefore, centerAfter),
      broadcast: {
        posts: seeded.channels.length,
        delivered: report.received,
        expected: connected.connected,
        lost: report.integrity.lost,
        duplicated: report.integrity.duplicated,
        p50Ms: round(report.histogram.percentile(50)),
        p99Ms: round(report.histogram.percentile(99)),
      },
      closedByNode: report.closed,
    };
    if (values.json) {
      console.log(JSON.stringify(result, null, 2));
      return;
    }
    const r = result;
    console.log(
      `\nidle settings: ${sockets} sockets, ${channels} channels, ${users} users, ${clientProcs} client processes, ${batch} connects in flight each, ${idleSeconds}s idle`,
    );
    console.log(
      `connected ${r.connected} (failed ${r.failed}) in ${r.connectSeconds}s: ${r.connectsPerSecond} connects/s (each: websocket, token check, namespace connect, join_channel)`,
    );
    console.log(
      `Center while connecting: ${Object.entries(r.center)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    console.log(
      `node memory: RSS ${before.rssMb} → ${after.rssMb} MB, heap used ${before.heapUsedMb} → ${after.heapUsedMb} MB; per socket RSS ${r.memory.perSocketKb.rss} KB, heap ${r.memory.perSocketKb.heapUsed} KB`,
    );
    const lag = (l: { p99Ms: number; medianP99Ms: number }) => `p99 ${l.p99Ms} ms (median second ${l.medianP99Ms} ms)`;
    console.log(`event-loop lag: baseline ${lag(r.eventLoopLagMs.baseline)}; while connecting ${lag(r.eventLoopLagMs.whileConnecting)}; idle ${lag(r.eventLoopLagMs.idle)}`);
    console.log(
      `one post per channel: delivered ${r.broadcast.delivered} / ${r.broadcast.expected} sockets, lost ${r.broadcast.lost}, duplicated ${r.broadcast.duplicated}, p50 ${r.broadcast.p50Ms} ms p99 ${r.broadcast.p99Ms} ms${r.closedByNode ? `; sockets closed by the node ${r.closedByNode}` : ''}`,
    );
    const checks = [
      `memory ≤ 20 KB/socket ${r.memory.perSocketKb.rss <= 20 ? 'ok' : 'MISSED'}`,
      `idle lag p99 < 10 ms ${r.eventLoopLagMs.idle.p99Ms < 10 ? 'ok' : 'MISSED'}`,
      `post to all ${r.broadcast.delivered === r.broadcast.expected && r.broadcast.lost === 0 ? 'ok' : 'MISSED'}`,
    ];
    console.log(`targets: ${checks.join(', ')}`);
  } finally {
    progressDone();
    await pool?.close();
    await target.stop();
  }
}
