/**
 * `npm run bench -- --mode fanout`: how much the node spends per delivery when each post goes
 * to many sockets. The sockets live in client processes (clients.ts) that only count frames,
 * so that the load generator is not what is measured; a few loops post at a set rate.
 */
import { resolve } from 'node:path';
import { cpuSnapshot, cpuUsage, type CpuProcess } from '../bench-cpu.js';
import { ClientPool, checkOpenFiles } from './clients.js';
import { monotonicMs } from './client-protocol.js';
import { int, intList, progress, progressDone, values } from './options.js';
import { median, round, seqIntegrity, sleep } from './loops.js';
import { PostConnection } from './post-connection.js';
import { cpuProcessesOf } from './post-path.js';
import { seed, type Seeded } from './seed.js';
import { startTarget, type Target } from './target.js';

/** Posts per second of the run without sockets (size 0), whose CPU per post is subtracted from the others' for the net figure. */
const BASELINE_RATE = 200;

/** Deliveries per second the automatic rate aims at (posts/s = this × channels / sockets, at most 400). */
const AUTO_DELIVERIES_PER_SECOND = 25_000;

export interface FanoutResult {
  /** `NAME=value` of the node's setting under --ab, `this` or `compare` under --compare, else empty. */
  variant?: string;
  sockets: number;
  subscribersPerChannel: number;
  /** Posts per second asked for, and sent in the measured window. */
  rate: number;
  posts: number;
  postsPerSecond: number;
  postErrors: number;
  deliveriesPerSecond: number;
  connectSeconds: number;
  /**
   * The node's CPU in the window: µs per delivery (everything the node did, posts included, over
   * the deliveries), the same less what the posts cost without sockets (`net`: the size-0 run's
   * ms per post × posts; null without one), ms per post, and its share of one core.
   */
  nodeCpu: { usPerDelivery: number | null; usPerDeliveryNet: number | null; msPerPost: number; shareOfACore: number } | null;
  /** Split (--split-shape): each of the node's processes alone, µs per delivery and ms per post. */
  processCpu: { label: string; usPerDelivery: number | null; msPerPost: number }[] | null;
  /** CPU of the client processes and of this process (the posting loops), as a share of one core. */
  clientsShareOfACore: number | null;
  benchShareOfACore: number | null;
  machineBusy: number | null;
  deliveryMs: { p50: number; p99: number };
  /** Deliveries of posts sent in the window, against posts × subscribers of their channel. */
  delivered: number;
  expected: number;
  integrity: { lost: number; duplicated: number; outOfOrder: number };
  seq: { duplicates: number; gaps: number };
  /** Sockets the node closed during the run. */
  closed: number;
}

/** Socket i: channel i % M, as the channel's members in turn (not the guild owner, who is in every channel, where others are). */
function socketsFor(seeded: Seeded, count: number) {
  return Array.from({ length: count }, (_, i) => {
    const ch = seeded.channels[i % seeded.channels.length];
    const members = ch.members.length > 1 ? ch.members.filter((m) => m !== 0) : ch.members;
    const user = seeded.users[members[Math.floor(i / seeded.channels.length) % members.length]];
    return { token: user.token, channelId: ch.id };
  });
}

async function runSize(
  target: Target,
  seeded: Seeded,
  cpuProcesses: CpuProcess[],
  opts: { sockets: number; baselineMsPerPost?: number; rate: number; concurrency: number; clientProcs: number; duration: number; warmup: number },
): Promise<FanoutResult> {
  const label = `fanout ${opts.sockets}`;
  progress(`${label}: starting ${opts.clientProcs} client processes`);
  const pool = await ClientPool.start(opts.clientProcs);
  try {
    progress(`${label}: connecting ${opts.sockets} sockets`);
    const connected = await pool.connect(target.realtimeUrl, socketsFor(seeded, opts.sockets), 50);
    if (connected.failed > 0) throw new Error(`${connected.failed} of ${opts.sockets} sockets did not connect: ${connected.firstError}`);
    const processes = [...cpuProcesses, ...pool.pids.map((pid, i) => ({ label: `client-${i + 1}`, pid }))];
    const posted = new Map<string, number[]>(seeded.channels.map((ch) => [ch.id, []]));
    const measuredPerChannel = new Map<string, number>();
    const connections = Array.from({ length: opts.concurrency }, (_, loop) => new PostConnection(target.apiUrls[loop % target.apiUrls.length]));
    const start = monotonicMs() + 200;
    const from = start + opts.warmup * 1000;
    const to = from + opts.duration * 1000;
    pool.window(from, to);
    let cpuFrom: ReturnType<typeof cpuSnapshot> | undefined;
    let cpuTo: ReturnType<typeof cpuSnapshot> | undefined;
    const cpuTimers = [setTimeout(() => (cpuFrom = cpuSnapshot(processes)), from - monotonicMs()), setTimeout(() => (cpuTo = cpuSnapshot(processes)), to - monotonicMs())];
    let errors = 0;
    let sent = 0;
    const ticker = setInterval(() => progress(`${label}: ${((monotonicMs() - start) / 1000).toFixed(0)}/${opts.warmup + opts.duration}s posts ${sent}`), 250);
    // Open loops: loop l sends its n-th post at start + (n × C + l) / rate (at once when behind).
    await Promise.all(
      connections.map(async (conn, loop) => {
        for (let n = 0; ; n++) {
          const due = start + ((n * opts.concurrency + loop) * 1000) / opts.rate;
          if (due >= to) break;
          const wait = due - monotonicMs();
          if (wait > 0) await sleep(wait);
          const ch = seeded.channels[(n * opts.concurrency + loop) % seeded.channels.length];
          const author = seeded.users[ch.members[n % ch.members.length]];
          const stamp = monotonicMs();
          try {
            const { message } = await conn.postJson<{ message: { seq: number } }>(`/api/channels/${ch.id}/messages`, author.token, { content: `f:${stamp}` });
            posted.get(ch.id)!.push(message.seq);
            sent++;
            if (stamp >= from && stamp < to) measuredPerChannel.set(ch.id, (measuredPerChannel.get(ch.id) ?? 0) + 1);
          } catch (err) {
            errors++;
            if (errors <= 3) console.error(`\n${label}: post failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }),
    );
    while (monotonicMs() < to) await sleep(20);
    cpuTimers.forEach(clearTimeout);
    clearInterval(ticker);
    for (const c of connections) c.close();
    // Every socket is due every post of its channel, warm-up included.
    const perChannel = opts.sockets / seeded.channels.length;
    const socketsOf = (i: number) => Math.floor(opts.sockets / seeded.channels.length) + (i < opts.sockets % seeded.channels.length ? 1 : 0);
    const dueTotal = seeded.channels.reduce((sum, ch, i) => sum + posted.get(ch.id)!.length * socketsOf(i), 0);
    progress(`${label}: waiting for the last deliveries`);
    await pool.waitForReceived(dueTotal, 10_000);
    const report = await pool.report(posted);
    progressDone();
    const expected = seeded.channels.reduce((sum, ch, i) => sum + (measuredPerChannel.get(ch.id) ?? 0) * socketsOf(i), 0);
    const measuredPosts = [...measuredPerChannel.values()].reduce((a, b) => a + b, 0);
    const totals = cpuFrom && cpuTo ? cpuUsage(cpuFrom, cpuTo, 1) : null;
    const ms = (labels: string[]) => (totals ? labels.reduce((sum, l) => sum + (totals.perPostMs[l] ?? 0), 0) : NaN);
    const seconds = opts.duration;
    const nodeMs = ms(target.processes.map((p) => p.label));
    const clientMs = ms(pool.pids.map((_, i) => `client-${i + 1}`));
    return {
      sockets: opts.sockets,
      subscribersPerChannel: round(perChannel),
      rate: opts.rate,
      posts: measuredPosts,
      postsPerSecond: round(measuredPosts / seconds),
      postErrors: errors,
      deliveriesPerSecond: round(expected / seconds),
      connectSeconds: round(connected.seconds),
      nodeCpu:
        totals && measuredPosts > 0
          ? {
              usPerDelivery: expected > 0 ? round((nodeMs * 1000) / expected) : null,
              usPerDeliveryNet: expected > 0 && opts.baselineMsPerPost !== undefined ? round(((nodeMs - measuredPosts * opts.baselineMsPerPost) * 1000) / expected) : null,
              msPerPost: round(nodeMs / measuredPosts),
              shareOfACore: round(nodeMs / (seconds * 1000)),
            }
          : null,
      processCpu:
        totals && measuredPosts > 0 && target.processes.length > 1
          ? target.processes.map((p) => ({
              label: p.label,
              usPerDelivery: expected > 0 ? round((ms([p.label]) * 1000) / expected) : null,
              msPerPost: round(ms([p.label]) / measuredPosts),
            }))
          : null,
      clientsShareOfACore: totals ? round(clientMs / (seconds * 1000)) : null,
      benchShareOfACore: totals ? round(ms(['bench']) / (seconds * 1000)) : null,
      machineBusy: totals?.machineBusy ?? null,
      deliveryMs: { p50: round(report.histogram.percentile(50)), p99: round(report.histogram.percentile(99)) },
      delivered: report.histogram.total,
      expected,
      integrity: report.integrity,
      seq: seqIntegrity(posted),
      closed: report.closed,
    };
  } finally {
    progressDone();
    await pool.close();
  }
}

export async function runFanout(): Promise<void> {
  const sizes = intList('sockets', [0, 100, 1000, 5000], 0, 50_000);
  const channels = int('channels', 8, 1, 1000);
  const clientProcs = int('client-procs', 4, 1, 64);
  const concurrency = int('concurrency', 32, 1, 256);
  const duration = int('duration', 6, 1, 300);
  const warmup = int('warmup', 1, 0, 60);
  const nodeWarmup = int('node-warmup', 5, 0, 120);
  const users = int('users', Math.max(32, Math.ceil(Math.max(...sizes) / 10)), 1, 20_000);
  const fixedRate = values.rate === undefined ? undefined : int('rate', 0, 1, 100_000);
  checkOpenFiles(Math.max(...sizes), clientProcs);
  const variants = abVariants();
  const pool = int('pool', 10, 1, 200);
  // Split: the posts go to the API processes (the loops alternate), the sockets to the realtime process.
  const apiProcesses = values['split-shape'] ? int('api-procs', 2, 1, 8) : 0;
  const results: FanoutResult[] = [];
  const nodes: { variant: Variant; target: Target; seeded: Seeded; cpuProcesses: CpuProcess[] }[] = [];
  try {
    for (const variant of variants) {
      const target = await startTarget({ pool, apiProcesses, env: variant.env, cwd: variant.cwd });
      progress(`fanout${variant.label ? ` ${variant.label}` : ''}: seeding ${users} users, ${channels} channels`);
      nodes.push({ variant, target, seeded: await seed(target, { users, channels }), cpuProcesses: cpuProcessesOf(target) });
    }
    // A node that has run a while has its post path compiled and optimized; a fresh one spends
    // its first seconds on that (the CPU per post of a first size-0 run was 1.3 ms, then 1.0 and 0.8).
    if (nodeWarmup > 0)
      for (const n of nodes) await runSize(n.target, n.seeded, n.cpuProcesses, { sockets: 0, rate: BASELINE_RATE, concurrency, clientProcs, duration: nodeWarmup, warmup: 0 });
    for (let i = 0; i < sizes.length; i++) {
      const sockets = sizes[i];
      const rate = fixedRate ?? (sockets === 0 ? BASELINE_RATE : Math.max(1, Math.min(400, Math.round((AUTO_DELIVERIES_PER_SECOND * channels) / sockets))));
      // A/B: the variants take turns going first, size by size.
      for (const n of i % 2 === 0 ? nodes : [...nodes].reverse()) {
        // The CPU per post of the group commit depends on the post rate: "net" only against a size-0 run at the same rate.
        const baselineMsPerPost = results.find((r) => r.sockets === 0 && r.variant === n.variant.label && r.rate === rate)?.nodeCpu?.msPerPost;
        const r = await runSize(n.target, n.seeded, n.cpuProcesses, { sockets, baselineMsPerPost, rate, concurrency, clientProcs, duration, warmup });
        results.push({ ...r, variant: n.variant.label });
        await sleep(1000); // the node handles the disconnects of the last size
      }
    }
  } finally {
    await Promise.all(nodes.map((n) => n.target.stop()));
  }
  const settings = {
    ab: values.ab,
    compare: values.compare,
    sizes,
    channels,
    clientProcs,
    concurrency,
    duration,
    warmup,
    nodeWarmup,
    users,
    deployment: apiProcesses ? `split (${apiProcesses} API processes, 1 realtime process)` : 'all-in-one',
    rate: fixedRate ?? `auto (${AUTO_DELIVERIES_PER_SECOND} deliveries/s, at most 400 posts/s)`,
  };
  if (values.json) {
    console.log(JSON.stringify({ settings, results }, null, 2));
    return;
  }
  console.log(
    `\nfanout settings: ${settings.deployment}, channels ${channels}, users ${users}, ${clientProcs} client processes, ${concurrency} posting loops, rate ${settings.rate}, ${duration}s (+${warmup}s warm-up; ${nodeWarmup}s of node warm-up first)`,
  );
  for (const r of results) {
    const c = r.nodeCpu;
    const net = c?.usPerDeliveryNet != null ? `, ${c.usPerDeliveryNet} net of the posts` : '';
    const cpu = c ? `node CPU ${c.usPerDelivery ?? '-'} µs/delivery${net} (${c.msPerPost} ms/post, ${Math.round(c.shareOfACore * 100)}% of a core)` : 'node CPU n/a';
    const perProcess = r.processCpu?.map((p) => `${p.label} ${p.usPerDelivery ?? '-'} µs/delivery (${p.msPerPost} ms/post)`).join(', ');
    console.log(
      `${r.variant ? `[${r.variant}] ` : ''}${String(r.sockets).padStart(6)} sockets (${r.subscribersPerChannel}/channel): ${r.postsPerSecond} posts/s → ${r.deliveriesPerSecond} deliveries/s  ${cpu}\n` +
        `        delivery p50 ${r.deliveryMs.p50} ms  p99 ${r.deliveryMs.p99} ms  delivered ${r.delivered} / expected ${r.expected}  lost ${r.integrity.lost}  duplicated ${r.integrity.duplicated}  out of order ${r.integrity.outOfOrder}  seq duplicates ${r.seq.duplicates} gaps ${r.seq.gaps}  post errors ${r.postErrors}\n` +
        (perProcess ? `        by process: ${perProcess}\n` : '') +
        `        connect ${r.connectSeconds}s  clients ${pct(r.clientsShareOfACore)} of a core  bench ${pct(r.benchShareOfACore)}  machine ${pct(r.machineBusy)} busy${r.closed ? `  sockets closed by the node ${r.closed}` : ''}`,
    );
  }
  if (values.compare) console.log(compareLine(results));
  for (const at1000 of results.filter((r) => r.sockets === 1000 && r.nodeCpu)) {
    const c = at1000.nodeCpu!;
    const checks = [
      `node CPU ≤ 10 µs/delivery ${(c.usPerDelivery ?? Infinity) <= 10 ? 'ok' : 'MISSED'}${c.usPerDeliveryNet != null ? ` (net of the posts ${c.usPerDeliveryNet <= 10 ? 'ok' : 'MISSED'})` : ''}`,
      `p99 < 50 ms ${at1000.deliveryMs.p99 < 50 ? 'ok' : 'MISSED'}`,
      `none lost or duplicated ${at1000.integrity.lost + at1000.integrity.duplicated === 0 ? 'ok' : 'MISSED'}`,
    ];
    console.log(`targets at 1,000 sockets${at1000.variant ? ` [${at1000.variant}]` : ''}: ${checks.join(', ')}`);
  }
}

interface Variant {
  label: string;
  env: Record<string, string>;
  /** The checkout the node runs from (default this one). */
  cwd?: string;
}

/**
 * `--ab NAME=v1,v2`: one node per value of the setting FABRIC_BACKEND_GUILD_NAME; `--compare DIR`:
 * one node of this checkout and one of the checkout in DIR; without either, one node as configured.
 */
function abVariants(): Variant[] {
  if (values.ab && values.compare) throw new Error('--ab and --compare do not go together');
  if (values.compare)
    return [
      { label: 'this', env: {} },
      { label: 'compare', env: {}, cwd: resolve(values.compare) },
    ];
  if (!values.ab) return [{ label: '', env: {} }];
  const m = /^([A-Z0-9_]+)=(.+)$/.exec(values.ab);
  if (!m) throw new Error(`--ab must be NAME=value1,value2 (got "${values.ab}")`);
  const name = m[1].replace(/^FABRIC_BACKEND_GUILD_/, '');
  return m[2].split(',').map((v) => ({ label: `${name}=${v.trim()}`, env: { [`FABRIC_BACKEND_GUILD_${name}`]: v.trim() } }));
}

const pct = (share: number | null) => (share === null ? 'n/a' : `${Math.round(share * 100)}%`);

/**
 * Under --compare: this checkout's node CPU per post over the other's, run by run (each size's
 * two runs are next to each other), and their median: on a machine whose speed drifts, the
 * ratio of neighbouring runs at one posting rate separates far smaller effects than throughput.
 */
function compareLine(results: readonly FanoutResult[]): string {
  const ratios: number[] = [];
  for (let i = 0; i + 1 < results.length; i += 2) {
    const [a, b] = results[i].variant === 'this' ? [results[i], results[i + 1]] : [results[i + 1], results[i]];
    if (a.nodeCpu && b.nodeCpu && b.nodeCpu.msPerPost > 0) ratios.push(a.nodeCpu.msPerPost / b.nodeCpu.msPerPost);
  }
  if (ratios.length === 0) return 'node CPU per post, this checkout over the other: n/a';
  const pctOf = (r: number) => `${Math.round(r * 100)}%`;
  return `node CPU per post, this checkout over the other (${values.compare}): ${pctOf(median(ratios))} (median of the sizes' ratios: ${ratios.map(pctOf).join(', ')})`;
}
