/**
 * The post-path modes (`--mode both|http|raw|raw-ceiling|split`, and `--quick`): closed posting
 * loops over HTTP with socket.io subscribers, the same post through lib/ without HTTP (raw), the
 * bare post transaction through a mysql2 pool (raw ceiling), and their ratios.
 */
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPool } from 'mysql2/promise';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import { loadConfig } from '../../lib/config.js';
import { createContext, type AppContext } from '../../lib/context.js';
import { newId } from '../../lib/ids.js';
import { postToChannel } from '../../lib/messages/post-message.js';
import { formatCpu, localDatabasePid, type CpuProcess } from '../bench-cpu.js';
import { deliveryIntegrity } from '../bench-integrity.js';
import { int, values, type Mode } from './options.js';
import { measureWindow, median, percentiles, round, runLoops, sleep, type MeasureWindow, type RunMode, type RunResult, type Settings } from './loops.js';
import { PostConnection } from './post-connection.js';
import { seed, subscriberUser, type Seeded } from './seed.js';
import { givenTarget, metricValue, scrape, startTarget, type Target } from './target.js';

/** Connects K subscribers per channel (channel members' tokens, round robin) and joins the channel room. */
async function subscribe(
  target: Target,
  seeded: Seeded,
  settings: Settings,
  onMessage: (content: string, seq: number, subscriber: number, channelId: string) => void,
): Promise<IoSocket[]> {
  const sockets: IoSocket[] = [];
  for (const ch of seeded.channels) {
    for (let k = 0; k < settings.subscribers; k++) {
      const user = subscriberUser(seeded, ch, k);
      const socket = ioClient(`${target.realtimeUrl}/realtime`, { auth: { token: user.token }, transports: ['websocket'], forceNew: true, reconnection: false });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
      const ack = await new Promise<{ ok: boolean }>((resolve) => socket.emit('join_channel', { channelId: ch.id }, resolve));
      if (!ack.ok) throw new Error('join_channel refused');
      const subscriber = sockets.length;
      socket.on('message.created', (m: { content: string; seq: number; channelId: string }) => onMessage(m.content, m.seq, subscriber, m.channelId));
      sockets.push(socket);
    }
  }
  return sockets;
}

/** Loop `loop` posts into channel loop % M, its n-th post as the channel's members in turn. */
function postOf(seeded: Seeded, loop: number, n: number) {
  const ch = seeded.channels[loop % seeded.channels.length];
  return { ch, author: seeded.users[ch.members[(loop + n) % ch.members.length]] };
}

/**
 * HTTP posting loops (one keep-alive connection each, spread over the target's API processes)
 * with socket.io subscribers: throughput, POST latency, delivery latency and integrity; in
 * split mode also the hand-over, from each post's response to its first delivery.
 */
async function runHttp(target: Target, seeded: Seeded, settings: Settings, cpuProcesses: readonly CpuProcess[], mode: 'http' | 'split' = 'http'): Promise<RunResult> {
  const deliveries: number[] = [];
  let delivered = 0;
  let window: MeasureWindow = { start: Infinity, from: Infinity, to: Infinity };
  // Every delivery and every post of the run, warm-up included, for the integrity check.
  const received: number[][] = Array.from({ length: seeded.channels.length * settings.subscribers }, () => []);
  const posted = new Map<string, number[]>(seeded.channels.map((ch) => [ch.id, []]));
  const channelOf = (subscriber: number) => seeded.channels[Math.floor(subscriber / settings.subscribers)].id;
  // Split mode: when each measured post's response and its first delivery arrived, by channel and seq.
  const answeredAt = new Map<string, number>();
  const firstDeliveryAt = new Map<string, number>();
  const sockets = await subscribe(target, seeded, settings, (content, seq, subscriber, channelId) => {
    // A subscriber that is a member of other channels (the guild owner) gets their events too.
    if (channelId !== channelOf(subscriber)) return;
    received[subscriber].push(seq);
    const sent = Number(content.slice(content.indexOf(':') + 1));
    if (sent >= window.from && sent < window.to) {
      const now = performance.now();
      delivered++;
      deliveries.push(now - sent);
      if (mode === 'split' && !firstDeliveryAt.has(`${channelId}:${seq}`)) firstDeliveryAt.set(`${channelId}:${seq}`, now);
    }
  });
  const perChannelPosts = new Map<string, number>();
  const connections = Array.from({ length: settings.concurrency }, (_, loop) => new PostConnection(target.apiUrls[loop % target.apiUrls.length]));
  window = measureWindow(settings);
  const loops = await runLoops(
    settings,
    cpuProcesses,
    mode,
    async (loop, n) => {
      const { ch, author } = postOf(seeded, loop, n);
      const sent = performance.now();
      const { message } = await connections[loop].postJson<{ message: { seq: number } }>(`/api/channels/${ch.id}/messages`, author.token, { content: `bench:${sent}` });
      posted.get(ch.id)!.push(message.seq);
      if (sent >= window.from && sent < window.to) {
        perChannelPosts.set(ch.id, (perChannelPosts.get(ch.id) ?? 0) + 1);
        if (mode === 'split') answeredAt.set(`${ch.id}:${message.seq}`, performance.now());
      }
      return { channelId: ch.id, seq: message.seq };
    },
    window,
  );
  // Let the last deliveries arrive (up to 10 s when some are still missing).
  const allIn = () => received.every((seqs, i) => seqs.length >= posted.get(channelOf(i))!.length);
  await sleep(1000);
  for (let waited = 0; !allIn() && waited < 10_000; waited += 100) await sleep(100);
  for (const s of sockets) s.close();
  for (const c of connections) c.close();
  const expected = [...perChannelPosts.values()].reduce((sum, n) => sum + n * settings.subscribers, 0);
  const handover: number[] = [];
  for (const [key, at] of answeredAt) {
    const first = firstDeliveryAt.get(key);
    if (first !== undefined) handover.push(first - at);
  }
  return {
    mode,
    ...loops,
    delivery: { ...percentiles(deliveries), delivered, expected },
    deliveryIntegrity: deliveryIntegrity(received, channelOf, posted),
    ...(mode === 'split' ? { handoverMs: percentiles(handover) } : {}),
  };
}

async function runRaw(target: Target, seeded: Seeded, settings: Settings, cpuProcesses: readonly CpuProcess[]): Promise<RunResult> {
  if (!target.nodeEnv) throw new Error('--raw needs a node started by the benchmark (it opens the same database)');
  const ctx: AppContext = await createContext(loadConfig({ ...target.nodeEnv, FABRIC_BACKEND_GUILD_DB_SYNC: 'false' }));
  try {
    const loops = await runLoops(settings, cpuProcesses, 'raw ', async (loop, n) => {
      const { ch, author } = postOf(seeded, loop, n);
      const principal = { kind: 'user' as const, userId: author.id, name: author.id };
      const r = await postToChannel(ctx, principal, ch.id, { content: `raw:${performance.now()}` });
      if (!('message' in r) || !r.message) throw new Error('raw post returned no message');
      return { channelId: ch.id, seq: r.message.seq };
    });
    return { mode: 'raw', ...loops };
  } finally {
    await ctx.close();
  }
}

/**
 * The raw ceiling (docs/performance.md, "Bench modes"): the post transaction and
 * nothing else, one transaction per message through a mysql2 pool — the node's seq bump
 * (which takes the channel's row lock and the next seq in one statement), the message
 * insert, commit. No HTTP, no validation, no group commit, no events.
 */
async function runRawCeiling(target: Target, seeded: Seeded, settings: Settings, cpuProcesses: readonly CpuProcess[]): Promise<RunResult> {
  const env = target.nodeEnv;
  if (!env) throw new Error('--raw-ceiling needs a node started by the benchmark (it opens the same database)');
  const pool = createPool({
    host: env.FABRIC_BACKEND_GUILD_DB_HOST,
    port: Number(env.FABRIC_BACKEND_GUILD_DB_PORT),
    user: env.FABRIC_BACKEND_GUILD_DB_USER,
    password: env.FABRIC_BACKEND_GUILD_DB_PASSWORD,
    database: env.FABRIC_BACKEND_GUILD_DB_NAME,
    connectionLimit: settings.pool,
  });
  try {
    const loops = await runLoops(settings, cpuProcesses, 'ceil', async (loop, n) => {
      const { ch, author } = postOf(seeded, loop, n);
      const conn = await pool.getConnection();
      try {
        await conn.query('begin');
        const [bump] = await conn.query<import('mysql2').ResultSetHeader>('update channels set last_seq = last_insert_id(last_seq + 1) where id = ?', [ch.id]);
        const seq = Number(bump.insertId);
        await conn.query(
          'insert into messages (id, channel_id, guild_id, seq, author_id, content, reply_to_id, mentions, client_msg_id, created_at, edited_at, deleted_at) ' +
            "values (?, ?, ?, ?, ?, ?, null, '[]', null, ?, null, null)",
          [newId(), ch.id, seeded.guildId, seq, author.id, `ceiling:${performance.now()}`, Date.now()],
        );
        await conn.query('commit');
        return { channelId: ch.id, seq };
      } catch (err) {
        await conn.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    });
    return { mode: 'raw-ceiling', ...loops };
  } finally {
    await pool.end();
  }
}

/** The settings of `--quick`: a few seconds of HTTP posting with subscribers. */
const QUICK = { concurrency: 8, channels: 4, users: 8, subscribers: 2, duration: 2, warmup: 0 } as const;

/** The processes whose CPU a run accounts for: the node's, this one, a local database server. */
export function cpuProcessesOf(target: Target): CpuProcess[] {
  const list: CpuProcess[] = target.processes.map((p) => ({ label: p.label, pid: p.pid }));
  list.push({ label: 'bench', pid: process.pid });
  const dbPid = /^(127\.0\.0\.1|localhost|::1)$/.test(values['db-host']!) ? localDatabasePid() : null;
  if (dbPid) list.push({ label: 'database', pid: dbPid });
  return list;
}

/** `--mode both|http|raw|raw-ceiling|split` and `--quick`: runs, then prints (or returns JSON). */
export async function runPostPath(mode: Extract<Mode, 'both' | 'http' | 'raw' | 'raw-ceiling' | 'split'>): Promise<void> {
  const quick = values.quick;
  const settings: Settings = {
    concurrency: int('concurrency', 32, 1, 1024),
    channels: int('channels', 8, 1, 1000),
    users: int('users', 32, 1, 10000),
    subscribers: int('subscribers', 2, 0, 100),
    duration: int('duration', 6, 1, 300),
    warmup: int('warmup', 2, 0, 60),
    pool: int('pool', 10, 1, 200),
    ...(quick ? QUICK : {}),
  };
  const effectiveMode = quick ? 'http' : mode;
  const rounds = quick ? 1 : int('rounds', mode === 'split' ? 1 : 5, 1, 10);
  const apiProcesses = mode === 'split' ? int('api-procs', 2, 1, 8) : 0;
  if (values.url && mode === 'split') throw new Error('--mode split starts its own processes (no --url)');
  const compareDir = quick ? undefined : values.compare;
  if (compareDir && (values.url || mode === 'split' || !['both', 'http'].includes(mode))) throw new Error('--compare goes with --mode both or http, without --url');
  const target = values.url ? givenTarget() : await startTarget({ pool: settings.pool, apiProcesses });
  const cpuProcesses = cpuProcessesOf(target);
  const results: RunResult[] = [];
  let handoverCalls: HandoverCalls | undefined;
  let other: Target | undefined;
  try {
    const seeded = await seed(target, settings);
    // The other checkout's node, on its own database, seeded alike.
    other = compareDir ? await startTarget({ pool: settings.pool, cwd: resolve(compareDir) }) : undefined;
    const otherSeeded = other && (await seed(other, settings));
    const runCompare = async (_t: Target, _s: Seeded, st: Settings) => ({ ...(await runHttp(other!, otherSeeded!, st, cpuProcessesOf(other!))), mode: 'http-compare' as const });
    for (let r = 0; r < rounds; r++) {
      if (effectiveMode === 'split') {
        results.push({ ...(await runHttp(target, seeded, settings, cpuProcesses, 'split')), round: r });
        continue;
      }
      // Alternate the order, so that neither mode always runs on the database the other just loaded.
      const all: RunMode[] = other ? ['raw', 'raw-ceiling', 'http', 'http-compare'] : ['raw', 'raw-ceiling', 'http'];
      const order = (r % 2 === 0 ? all : [...all].reverse()).filter((m) => effectiveMode === 'both' || m.startsWith(effectiveMode));
      const runs = { raw: runRaw, 'raw-ceiling': runRawCeiling, http: runHttp, 'http-compare': runCompare, split: runHttp };
      for (const m of order) results.push({ ...(await runs[m](target, seeded, settings, cpuProcesses)), round: r });
    }
    if (apiProcesses) handoverCalls = await handoverCallsOf(target);
  } finally {
    await target.stop();
    await other?.stop();
  }
  report(results, { ...settings, mode: effectiveMode }, rounds, apiProcesses, handoverCalls);
}

/** The API processes' internal calls to the realtime process over the whole run (their metrics; a call carries a batch of events). */
interface HandoverCalls {
  calls: number;
  events: number;
  meanMs: number;
}

async function handoverCallsOf(target: Target): Promise<HandoverCalls> {
  let calls = 0;
  let seconds = 0;
  let events = 0;
  for (const p of target.processes.filter((x) => x.label.startsWith('api-'))) {
    const page = await scrape(p);
    calls += metricValue(page, 'fabric_event_handover_call_duration_seconds_count') ?? 0;
    seconds += metricValue(page, 'fabric_event_handover_call_duration_seconds_sum') ?? 0;
    events += metricValue(page, 'fabric_event_handover_sent_total') ?? 0;
  }
  return { calls, events, meanMs: calls ? round((seconds * 1000) / calls) : NaN };
}

/** The median of per-round ratios, rounded; undefined when no round had both runs. */
const medianRatio = (ratios: number[]) => (ratios.length > 0 ? round(median(ratios)) : undefined);

function report(results: RunResult[], settings: Settings & { mode: string }, rounds: number, apiProcesses: number, handoverCalls?: HandoverCalls): void {
  const rawRuns = results.filter((r) => r.mode === 'raw');
  const httpRuns = results.filter((r) => r.mode === 'http' || r.mode === 'split');
  const rawMedian = median(rawRuns.map((r) => r.throughput));
  const httpMedian = median(httpRuns.map((r) => r.throughput));
  // The ratio pairs each round's HTTP run with the raw run next to it, so that a machine whose
  // speed drifts over minutes weighs on both sides of each ratio alike; then the median.
  const roundRatiosTo = (base: RunMode, of: RunMode = 'http') =>
    Array.from({ length: rounds }, (_, i) => {
      const raw = results.find((r) => r.mode === base && r.round === i);
      const http = (of === 'http' ? httpRuns : results.filter((r) => r.mode === of)).find((r) => r.round === i);
      return raw && http && raw.throughput > 0 ? http.throughput / raw.throughput : undefined;
    }).filter((r): r is number => r !== undefined);
  const compareRuns = results.filter((r) => r.mode === 'http-compare');
  const compared =
    compareRuns.length > 0
      ? {
          httpMedian: median(compareRuns.map((r) => r.throughput)),
          deliveryP99: round(median(compareRuns.map((r) => r.delivery?.p99 ?? NaN))),
          ceilingRatios: roundRatiosTo('raw-ceiling', 'http-compare'),
          thisToCompare: roundRatiosTo('http-compare'),
        }
      : undefined;
  const roundRatios = roundRatiosTo('raw');
  const ratio = medianRatio(roundRatios);
  const ceilingRatios = roundRatiosTo('raw-ceiling');
  const ceilingRatio = medianRatio(ceilingRatios);
  const integrity = integrityFailures(results);
  const deliveryP99 = httpRuns.length > 0 ? round(median(httpRuns.map((r) => r.delivery?.p99 ?? NaN))) : undefined;
  const verdict = barVerdict(results, ratio, deliveryP99);
  const scaleVerdict = scaleBarVerdict(results, ceilingRatio, deliveryP99);
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          settings: { ...settings, rounds, ...(apiProcesses ? { apiProcesses } : {}) },
          results,
          medians: { raw: rawMedian, http: httpMedian, deliveryP99 },
          roundRatios: roundRatios.map(round),
          httpToRawRatio: ratio,
          httpToRawCeilingRatio: ceilingRatio,
          ...(compared
            ? {
                compare: {
                  dir: values.compare,
                  httpMedian: compared.httpMedian,
                  deliveryP99: compared.deliveryP99,
                  httpToRawCeilingRatio: medianRatio(compared.ceilingRatios),
                  httpToCompareRatios: compared.thisToCompare.map(round),
                },
              }
            : {}),
          bar: verdict,
          scaleBar: scaleVerdict,
          integrity,
          ...(handoverCalls ? { handoverCalls } : {}),
        },
        null,
        2,
      ),
    );
    if (values.quick && integrity.length > 0) throw new Error(`integrity: ${integrity.join('; ')}`);
    return;
  }
  const shape = apiProcesses ? `, ${apiProcesses} API processes + 1 realtime process` : '';
  console.log(
    `\nsettings: concurrency ${settings.concurrency}, channels ${settings.channels}, users ${settings.users}, subscribers/channel ${settings.subscribers}, ${settings.duration}s (+${settings.warmup}s warm-up), pool ${settings.pool}, post limit ${values['post-limit'] ? 'on' : 'off'}${shape}`,
  );
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(11)}  ${String(r.throughput).padStart(8)} msgs/s  POST p50 ${r.postLatencyMs.p50} ms  p95 ${r.postLatencyMs.p95} ms  p99 ${r.postLatencyMs.p99} ms  errors ${r.errors}  seq duplicates ${r.seq.duplicates} gaps ${r.seq.gaps}`,
    );
    if (r.cpu) console.log(`      ${formatCpu(r.cpu)}`);
    if (r.delivery && r.delivery.expected === 0) console.log('      delivery: no subscribers');
    else if (r.delivery) console.log(`      delivery p50 ${r.delivery.p50} ms  p99 ${r.delivery.p99} ms  delivered ${r.delivery.delivered} / expected ${r.delivery.expected}`);
    const d = r.deliveryIntegrity;
    if (d) console.log(`      deliveries lost ${d.lost}  duplicated ${d.duplicated}  out of order ${d.outOfOrder}`);
    if (r.handoverMs) console.log(`      hand-over (POST response → first delivery) p50 ${r.handoverMs.p50} ms  p99 ${r.handoverMs.p99} ms`);
  }
  if (handoverCalls)
    console.log(`hand-over calls (API → realtime, whole run): ${handoverCalls.calls} calls carrying ${handoverCalls.events} events, mean ${handoverCalls.meanMs} ms per call`);
  if (rounds > 1) {
    if (rawRuns.length) console.log(`median raw   ${round(rawMedian)} msgs/s over ${rawRuns.length} runs`);
    if (httpRuns.length) {
      const p99s = httpRuns.map((r) => r.delivery?.p99 ?? NaN);
      console.log(`median http  ${round(httpMedian)} msgs/s, delivery p99 median ${deliveryP99} ms (worst ${Math.max(...p99s)} ms) over ${httpRuns.length} runs`);
    }
  }
  const ratioLine = (name: string, r: number | undefined, perRound: number[]) => {
    if (r === undefined) return;
    const each = perRound.length > 1 ? ` (median of the rounds: ${perRound.map((x) => `${Math.round(x * 100)}%`).join(', ')})` : '';
    console.log(`${name} throughput: ${Math.round(r * 100)}%${each}`);
  };
  ratioLine('http / raw', ratio, roundRatios);
  ratioLine('http / raw ceiling', ceilingRatio, ceilingRatios);
  if (compared) {
    console.log(`median http-compare  ${round(compared.httpMedian)} msgs/s, delivery p99 median ${compared.deliveryP99} ms (${values.compare})`);
    ratioLine('http-compare / raw ceiling', medianRatio(compared.ceilingRatios), compared.ceilingRatios);
    ratioLine('http / http-compare (this checkout against the other)', medianRatio(compared.thisToCompare), compared.thisToCompare);
  }
  if (values.quick) {
    console.log(integrity.length === 0 ? 'quick: every delivery once and in order, seqs without duplicates or gaps' : `quick: FAILED: ${integrity.join('; ')}`);
    if (integrity.length > 0) throw new Error(`integrity: ${integrity.join('; ')}`);
  }
  const verdictLine = (name: string, v: Verdict | undefined) =>
    v && console.log(`${name}: ${v.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'MISSED'}`).join(', ')} → ${v.met ? 'met' : 'not met'}`);
  verdictLine('performance bar (messages)', verdict);
  verdictLine('performance bar (scale: the post path against the raw ceiling)', scaleVerdict);
}

interface Verdict {
  met: boolean;
  checks: { name: string; ok: boolean }[];
}

/** What every bar asks besides its ratio and latency: no errors, perfect seq integrity, every delivery. */
const integrityChecks = (results: RunResult[]) => [
  { name: 'no errors', ok: results.every((r) => r.errors === 0) },
  { name: 'seq integrity', ok: results.every((r) => r.seq.duplicates === 0 && r.seq.gaps === 0) },
  { name: 'every delivery', ok: results.every((r) => !r.delivery || r.delivery.delivered === r.delivery.expected) },
];

/**
 * What `--quick` fails on, and only that: a delivery lost, duplicated or out of order, a seq
 * duplicated or missing. Never a timing or a ratio (shared CI cores are too noisy).
 */
export function integrityFailures(results: RunResult[]): string[] {
  const failures: string[] = [];
  for (const r of results) {
    if (r.seq.duplicates > 0) failures.push(`${r.mode}: ${r.seq.duplicates} duplicated seq(s)`);
    if (r.seq.gaps > 0) failures.push(`${r.mode}: ${r.seq.gaps} missing seq(s)`);
    const d = r.deliveryIntegrity;
    if (d?.lost) failures.push(`${r.mode}: ${d.lost} lost deliver(ies)`);
    if (d?.duplicated) failures.push(`${r.mode}: ${d.duplicated} duplicated deliver(ies)`);
    if (d?.outOfOrder) failures.push(`${r.mode}: ${d.outOfOrder} deliver(ies) out of order`);
  }
  return failures;
}

/**
 * The performance bar of the messages work (docs/performance.md): HTTP at least 60% of raw in
 * the same run, delivery p99 under 50 ms, no errors, perfect seq integrity. Judged when both
 * modes ran; the settings it was set for are the defaults.
 */
function barVerdict(results: RunResult[], ratio: number | undefined, deliveryP99: number | undefined): Verdict | undefined {
  if (ratio === undefined || deliveryP99 === undefined) return undefined;
  const checks = [{ name: 'http/raw ≥ 60%', ok: ratio >= 0.6 }, { name: 'delivery p99 < 50 ms', ok: deliveryP99 < 50 }, ...integrityChecks(results)];
  return { met: checks.every((c) => c.ok), checks };
}

/**
 * The post path's bar of the performance-at-scale work (docs/performance.md): HTTP at least
 * the raw ceiling's throughput in the same run (median of the rounds' ratios), delivery p99
 * under 20 ms. Judged when both ran.
 */
function scaleBarVerdict(results: RunResult[], ceilingRatio: number | undefined, deliveryP99: number | undefined): Verdict | undefined {
  if (ceilingRatio === undefined || deliveryP99 === undefined) return undefined;
  const checks = [{ name: 'http/raw ceiling ≥ 100%', ok: ceilingRatio >= 1 }, { name: 'delivery p99 < 20 ms', ok: deliveryP99 < 20 }, ...integrityChecks(results)];
  return { met: checks.every((c) => c.ok), checks };
}
