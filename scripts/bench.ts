/**
 * `npm run bench` — the post-and-fan-out benchmark (see docs/performance.md).
 *
 * Starts a Center emulator and a guild node on MySQL (a throwaway database) unless --url is
 * given, seeds one guild with U users and M general channels, connects K socket.io
 * subscribers per channel, then runs C concurrent posting loops for T seconds. Reports
 * throughput, POST latency, delivery latency (send → `message.created` received), delivered vs
 * expected, and seq integrity from the responses. `--raw` runs the same post transaction
 * straight through lib/ (no HTTP, no socket.io) against the same database, so the overhead of
 * HTTP and realtime shows as a ratio; `--raw-ceiling` runs the bare post transaction (channel
 * row lock and next seq, insert, commit), one per message through a mysql2 pool, with none of
 * the node's code; `--mode both` (the default) runs raw, the raw ceiling, then HTTP. `--quick`
 * is the regression guard of CI: a short HTTP run that fails only on a lost, duplicated or
 * out-of-order delivery or a duplicated or missing seq, never on a timing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createConnection, createPool } from 'mysql2/promise';
import { io as ioClient, type Socket as IoSocket } from 'socket.io-client';
import { loadConfig } from '../lib/config.js';
import { createContext, type AppContext } from '../lib/context.js';
import { newId } from '../lib/ids.js';
import { postToChannel } from '../lib/messages/post-message.js';
import { deliveryIntegrity, type DeliveryIntegrity } from './bench-integrity.js';
import { cpuSnapshot, cpuUsage, formatCpu, localDatabasePid, type CpuProcess, type CpuUsage } from './bench-cpu.js';
import { startDevCenter, type DevCenter } from './dev-center.js';

const HELP = `Usage: npm run bench -- [options]

  --mode <both|http|raw|raw-ceiling>
                          what to run (default both: raw, raw-ceiling, then http, and the ratios)
  --raw                   same as --mode raw: the node's post code (lib/) without HTTP or socket.io
  --raw-ceiling           same as --mode raw-ceiling: the post transaction alone (channel row lock
                          and next seq, insert, commit), one per message through a mysql2 pool
                          of --pool connections, no HTTP, no group commit
  --quick                 the regression guard: a short HTTP run (8 loops, 4 channels, 2
                          subscribers each, 2 s) that exits non-zero only when a delivery is
                          lost, duplicated or out of order, or a seq is duplicated or missing
  --concurrency <C>       concurrent posting loops (default 32)
  --channels <M>          channels posted into (default 8)
  --users <U>             users posting, spread over the channels (default 32)
  --subscribers <K>       socket.io subscribers per channel (default 2)
  --duration <T>          seconds per run (default 6, at most 300)
  --warmup <W>            seconds of warm-up before measuring (default 2)
  --rounds <R>            R rounds of one raw and one HTTP run back to back, alternating which
                          goes first; reports the medians and the median of the rounds' HTTP/raw
                          ratios (default 5, at most 10: a small shared machine drifts by ±25%
                          over minutes, so a ratio only compares runs next to each other)
  --db-host/--db-port/--db-user/--db-password   MySQL server (default 127.0.0.1:3306 root, empty)
  --pool <N>              MySQL pool size of the node and of the raw run (default 10)
  --post-limit            keep the post flood limit on, with a bucket no loop empties (its
                          statement runs on every post); without it the limit is off (rate 0)
  --url <URL>             use a running node instead of starting one (needs --center-url, --center-key)
  --center-url <URL>      the Center emulator of that node
  --center-key <KEY>      its API key
  --json                  print the results as JSON
  -h, --help              this text`;

const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    raw: { type: 'boolean', default: false },
    'raw-ceiling': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '32' },
    channels: { type: 'string', default: '8' },
    users: { type: 'string', default: '32' },
    subscribers: { type: 'string', default: '2' },
    duration: { type: 'string', default: '6' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    'db-host': { type: 'string', default: '127.0.0.1' },
    'db-port': { type: 'string', default: '3306' },
    'db-user': { type: 'string', default: 'root' },
    'db-password': { type: 'string', default: '' },
    pool: { type: 'string', default: '10' },
    'post-limit': { type: 'boolean', default: false },
    url: { type: 'string' },
    'center-url': { type: 'string' },
    'center-key': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const int = (name: string, v: string | undefined, min: number, max: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max} (got "${v}")`);
  return n;
};

type RunMode = 'http' | 'raw' | 'raw-ceiling';

interface Settings {
  mode: 'both' | RunMode;
  concurrency: number;
  channels: number;
  users: number;
  subscribers: number;
  duration: number;
  warmup: number;
  pool: number;
}

interface RunResult {
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
  seq: { duplicates: number; gaps: number };
  /** CPU per post during the measured window (Linux): the node, this process, a local database server. */
  cpu?: CpuUsage;
}

/** The processes whose CPU the runs account for; filled in once the node is up. */
const cpuProcesses: CpuProcess[] = [];

const CENTER_KEY = 'bench-center-key';
const progressOnTty = process.stdout.isTTY && !values.json;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (n: number) => Math.round(n * 100) / 100;

/** Seq integrity from what the posts returned: every channel must hold first..last with no duplicates and no gaps. */
function seqIntegrity(seqsByChannel: Map<string, number[]>) {
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

/** Runs `loops` workers until the deadline; each call returns the seq and channel of a stored post. */
async function runLoops(
  settings: Settings,
  window: MeasureWindow,
  post: (loop: number, n: number) => Promise<{ channelId: string; seq: number }>,
  label: string,
): Promise<Omit<RunResult, 'mode' | 'delivery'>> {
  const latencies: number[] = [];
  const cpu: { from?: ReturnType<typeof cpuSnapshot>; to?: ReturnType<typeof cpuSnapshot> } = {};
  const cpuTimers = [
    setTimeout(() => (cpu.from = cpuSnapshot(cpuProcesses)), window.from - performance.now()),
    setTimeout(() => (cpu.to = cpuSnapshot(cpuProcesses)), window.to - performance.now()),
  ];
  const seqsByChannel = new Map<string, number[]>();
  let errors = 0;
  let posts = 0;
  const { start, from: measuredFrom, to: deadline } = window;
  const ticker = progressOnTty
    ? setInterval(() => {
        const elapsed = (performance.now() - start) / 1000;
        const total = settings.warmup + settings.duration;
        const width = 30;
        const done = Math.min(width, Math.round((elapsed / total) * width));
        process.stdout.write(`\r${label} [${'#'.repeat(done)}${' '.repeat(width - done)}] ${elapsed.toFixed(0)}/${total}s posts ${posts}  `);
      }, 250)
    : undefined;
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
  cpuTimers.forEach(clearTimeout);
  if (ticker) {
    clearInterval(ticker);
    process.stdout.write('\n');
  }
  latencies.sort((a, b) => a - b);
  const seconds = settings.duration;
  return {
    posts,
    errors,
    seconds,
    throughput: round(posts / seconds),
    postLatencyMs: { p50: round(percentile(latencies, 50)), p95: round(percentile(latencies, 95)), p99: round(percentile(latencies, 99)) },
    seq: seqIntegrity(seqsByChannel),
    cpu: cpu.from && cpu.to ? (cpuUsage(cpu.from, cpu.to, posts) ?? undefined) : undefined,
  };
}

/** Posts sent in [from, to) are measured; the ones before are warm-up. */
interface MeasureWindow { start: number; from: number; to: number }

function measureWindow(settings: Settings): MeasureWindow {
  const start = performance.now();
  const from = start + settings.warmup * 1000;
  return { start, from, to: from + settings.duration * 1000 };
}

interface Target {
  url: string;
  centerUrl: string;
  centerKey: string;
  /** Env of the node's database, for the raw run. */
  nodeEnv?: Record<string, string>;
  /** The node's process, when the benchmark started it. */
  nodePid?: number;
  stop(): Promise<void>;
}

/** Starts a Center emulator and a node child process on a throwaway MySQL database. */
async function startTarget(settings: Settings): Promise<Target> {
  const server = {
    host: values['db-host']!,
    port: Number(values['db-port']),
    user: values['db-user']!,
    password: values['db-password']!,
  };
  const dbName = `fabric_bench_${process.pid}`;
  const admin = await createConnection(server);
  await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const center: DevCenter = await startDevCenter({ port: 0, apiKey: CENTER_KEY, quiet: true });
  const port = 17000 + (process.pid % 1000);
  const nodeEnv: Record<string, string> = {
    FABRIC_BACKEND_GUILD_CENTER_BASE_URL: center.url,
    FABRIC_BACKEND_GUILD_CENTER_API_KEY: CENTER_KEY,
    FABRIC_BACKEND_GUILD_NODE_ID: 'bench-node',
    FABRIC_BACKEND_GUILD_PORT: String(port),
    FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql',
    FABRIC_BACKEND_GUILD_DB_HOST: server.host,
    FABRIC_BACKEND_GUILD_DB_PORT: String(server.port),
    FABRIC_BACKEND_GUILD_DB_USER: server.user,
    FABRIC_BACKEND_GUILD_DB_PASSWORD: server.password,
    FABRIC_BACKEND_GUILD_DB_NAME: dbName,
    FABRIC_BACKEND_GUILD_DB_POOL: String(settings.pool),
    // The benchmark measures posting, not the flood limit: off, or on with a bucket no loop empties.
    FABRIC_BACKEND_GUILD_POST_RATE_PER_SECOND: values['post-limit'] ? '1000000' : '0',
    FABRIC_BACKEND_GUILD_POST_BURST: '1000000',
    FABRIC_BACKEND_GUILD_LOG_LEVEL: 'warn',
  };
  const child: ChildProcess = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', 'scripts/main.ts'], {
    env: { ...process.env, ...nodeEnv },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${url}/api/ready`);
      if (r.ok) break;
    } catch {
      /* not up yet */
    }
    if (i > 150 || child.exitCode !== null) throw new Error('the node did not start');
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    centerUrl: center.url,
    centerKey: CENTER_KEY,
    nodeEnv,
    nodePid: child.pid,
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => child.once('exit', r));
      await center.close();
      const c = await createConnection(server);
      await c.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
      await c.end();
    },
  };
}

/**
 * The posting loops' HTTP client: one keep-alive HTTP/1.1 connection per loop on a plain TCP
 * socket, each request written in one go and each response read just far enough (status
 * line, Content-Length, body). The load generator shares the machine's cores with the node it
 * measures, and node:http's client spends several times more CPU per request than this.
 */
class PostConnection {
  private readonly socket: Socket;
  private readonly host: string;
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: { status: number; body: string }) => void; reject: (err: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.host = `${hostname}:${port}`;
    this.socket = netConnect(Number(port), hostname);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('the node closed the connection')));
  }

  /** POSTs a JSON body; resolves with the parsed answer, rejects on a status of 300 or more. */
  async postJson<T>(path: string, token: string, body: unknown): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error('one request at a time per connection');
    const payload = JSON.stringify(body);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => (this.waiting = { resolve, reject }));
    this.socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${this.host}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    const { status, body: text } = await answer;
    if (status >= 300) throw new Error(`POST ${path}: ${status} ${text}`);
    return JSON.parse(text) as T;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer) {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headerEnd = this.received.indexOf('\r\n\r\n');
    if (headerEnd < 0 || !this.waiting) return;
    const head = this.received.toString('latin1', 0, headerEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error('the node answered without Content-Length'));
    const end = headerEnd + 4 + Number(length[1]);
    if (this.received.length < end) return;
    const body = this.received.toString('utf8', headerEnd + 4, end);
    this.received = this.received.subarray(end);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status: Number(head.slice(9, 12)), body });
  }

  private fail(err: Error) {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(err);
  }
}

async function call<T = unknown>(url: string, method: string, path: string, token: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

interface Seeded {
  guildId: string;
  users: { id: string; token: string }[];
  channels: { id: string; members: number[] }[];
}

/** One guild, U users, M general channels; user i belongs to channel i % M (and the owner to all). */
async function seed(target: Target, settings: Settings): Promise<Seeded> {
  const users: { id: string; token: string }[] = [];
  for (let i = 0; i < settings.users; i++) {
    users.push(await call(target.centerUrl, 'POST', '/api/dev/users', null, { name: `bench-${process.pid}-${Date.now()}-${i}` }, { 'x-api-key': target.centerKey }));
  }
  const owner = users[0];
  const { guild } = await call<{ guild: { id: string } }>(target.url, 'POST', '/api/guilds', owner.token, { name: 'bench' });
  // api.md takes at most 100 ids per call.
  for (let i = 1; i < users.length; i += 100) {
    await call(target.url, 'POST', `/api/guilds/${guild.id}/members`, owner.token, { userIds: users.slice(i, i + 100).map((u) => u.id) });
  }
  const channels: Seeded['channels'] = [];
  for (let c = 0; c < settings.channels; c++) {
    const members = users.map((_, i) => i).filter((i) => i % settings.channels === c);
    const { channel } = await call<{ channel: { id: string } }>(target.url, 'POST', '/api/channels', owner.token, {
      guildId: guild.id,
      name: `bench-${c}`,
      xType: 'general',
      memberUserIds: members.map((i) => users[i].id),
    });
    channels.push({ id: channel.id, members: members.length > 0 ? members : [0] });
  }
  return { guildId: guild.id, users, channels };
}

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
      const user = seeded.users[ch.members[k % ch.members.length]];
      const socket = ioClient(`${target.url}/realtime`, { auth: { token: user.token }, transports: ['websocket'], forceNew: true, reconnection: false });
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

async function runHttp(target: Target, seeded: Seeded, settings: Settings): Promise<RunResult> {
  const deliveries: number[] = [];
  let delivered = 0;
  let window: MeasureWindow = { start: Infinity, from: Infinity, to: Infinity };
  // Every delivery and every post of the run, warm-up included, for the integrity check.
  const received: number[][] = Array.from({ length: seeded.channels.length * settings.subscribers }, () => []);
  const posted = new Map<string, number[]>(seeded.channels.map((ch) => [ch.id, []]));
  const channelOf = (subscriber: number) => seeded.channels[Math.floor(subscriber / settings.subscribers)].id;
  const sockets = await subscribe(target, seeded, settings, (content, seq, subscriber, channelId) => {
    // A subscriber that is a member of other channels (the guild owner) gets their events too.
    if (channelId !== channelOf(subscriber)) return;
    received[subscriber].push(seq);
    const sent = Number(content.slice(content.indexOf(':') + 1));
    if (sent >= window.from && sent < window.to) {
      delivered++;
      deliveries.push(performance.now() - sent);
    }
  });
  const perChannelPosts = new Map<string, number>();
  const connections = Array.from({ length: settings.concurrency }, () => new PostConnection(target.url));
  window = measureWindow(settings);
  const loops = await runLoops(
    settings,
    window,
    async (loop, n) => {
      const ch = seeded.channels[loop % seeded.channels.length];
      const author = seeded.users[ch.members[(loop + n) % ch.members.length]];
      const sent = performance.now();
      const { message } = await connections[loop].postJson<{ message: { seq: number } }>(`/api/channels/${ch.id}/messages`, author.token, { content: `bench:${sent}` });
      posted.get(ch.id)!.push(message.seq);
      if (sent >= window.from && sent < window.to) perChannelPosts.set(ch.id, (perChannelPosts.get(ch.id) ?? 0) + 1);
      return { channelId: ch.id, seq: message.seq };
    },
    'http',
  );
  // Let the last deliveries arrive (up to 10 s when some are still missing).
  const allIn = () => received.every((seqs, i) => seqs.length >= posted.get(channelOf(i))!.length);
  await new Promise((r) => setTimeout(r, 1000));
  for (let waited = 0; !allIn() && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  for (const s of sockets) s.close();
  for (const c of connections) c.close();
  deliveries.sort((a, b) => a - b);
  const expected = [...perChannelPosts.values()].reduce((sum, n) => sum + n * settings.subscribers, 0);
  return {
    mode: 'http',
    posts: loops.posts,
    errors: loops.errors,
    seconds: loops.seconds,
    throughput: loops.throughput,
    postLatencyMs: loops.postLatencyMs,
    seq: loops.seq,
    cpu: loops.cpu,
    delivery: { p50: round(percentile(deliveries, 50)), p99: round(percentile(deliveries, 99)), delivered, expected },
    deliveryIntegrity: deliveryIntegrity(received, channelOf, posted),
  };
}

async function runRaw(target: Target, seeded: Seeded, settings: Settings): Promise<RunResult> {
  if (!target.nodeEnv) throw new Error('--raw needs a node started by the benchmark (it opens the same database)');
  const ctx: AppContext = await createContext(loadConfig({ ...target.nodeEnv, FABRIC_BACKEND_GUILD_DB_SYNC: 'false' }));
  try {
    const loops = await runLoops(
      settings,
      measureWindow(settings),
      async (loop, n) => {
        const ch = seeded.channels[loop % seeded.channels.length];
        const author = seeded.users[ch.members[(loop + n) % ch.members.length]];
        const principal = { kind: 'user' as const, userId: author.id, name: author.id };
        const r = await postToChannel(ctx, principal, ch.id, { content: `raw:${performance.now()}` });
        if (!('message' in r) || !r.message) throw new Error('raw post returned no message');
        return { channelId: ch.id, seq: r.message.seq };
      },
      'raw ',
    );
    return { mode: 'raw', posts: loops.posts, errors: loops.errors, seconds: loops.seconds, throughput: loops.throughput, postLatencyMs: loops.postLatencyMs, seq: loops.seq, cpu: loops.cpu };
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
async function runRawCeiling(target: Target, seeded: Seeded, settings: Settings): Promise<RunResult> {
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
    const loops = await runLoops(
      settings,
      measureWindow(settings),
      async (loop, n) => {
        const ch = seeded.channels[loop % seeded.channels.length];
        const author = seeded.users[ch.members[(loop + n) % ch.members.length]];
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
      },
      'ceil',
    );
    return { mode: 'raw-ceiling', posts: loops.posts, errors: loops.errors, seconds: loops.seconds, throughput: loops.throughput, postLatencyMs: loops.postLatencyMs, seq: loops.seq, cpu: loops.cpu };
  } finally {
    await pool.end();
  }
}

/** The settings of `--quick`: a few seconds of HTTP posting with subscribers. */
const QUICK = { mode: 'http', concurrency: 8, channels: 4, users: 8, subscribers: 2, duration: 2, warmup: 0 } as const;

async function main() {
  if (values.help) {
    console.log(HELP);
    return;
  }
  const mode = values.raw ? 'raw' : values['raw-ceiling'] ? 'raw-ceiling' : values.mode;
  if (mode !== 'both' && mode !== 'http' && mode !== 'raw' && mode !== 'raw-ceiling') throw new Error(`--mode must be both, http, raw or raw-ceiling (got "${mode}")`);
  const settings: Settings = {
    mode,
    concurrency: int('concurrency', values.concurrency, 1, 1024),
    channels: int('channels', values.channels, 1, 1000),
    users: int('users', values.users, 1, 10000),
    subscribers: int('subscribers', values.subscribers, 0, 100),
    duration: int('duration', values.duration, 1, 300),
    warmup: int('warmup', values.warmup, 0, 60),
    pool: int('pool', values.pool, 1, 200),
    ...(values.quick ? QUICK : {}),
  };
  const rounds = values.quick ? 1 : int('rounds', values.rounds, 1, 10);
  let target: Target;
  if (values.url) {
    if (!values['center-url'] || !values['center-key']) throw new Error('--url needs --center-url and --center-key');
    target = { url: values.url.replace(/\/+$/, ''), centerUrl: values['center-url'], centerKey: values['center-key'], stop: async () => {} };
  } else {
    target = await startTarget(settings);
  }
  if (target.nodePid) cpuProcesses.push({ label: 'node', pid: target.nodePid });
  cpuProcesses.push({ label: 'bench', pid: process.pid });
  const dbPid = /^(127\.0\.0\.1|localhost|::1)$/.test(values['db-host']!) ? localDatabasePid() : null;
  if (dbPid) cpuProcesses.push({ label: 'database', pid: dbPid });
  const results: RunResult[] = [];
  try {
    const seeded = await seed(target, settings);
    for (let round = 0; round < rounds; round++) {
      // Alternate the order, so that neither mode always runs on the database the other just loaded.
      const all: RunMode[] = ['raw', 'raw-ceiling', 'http'];
      const order = (round % 2 === 0 ? all : [...all].reverse()).filter((m) => settings.mode === 'both' || settings.mode === m);
      const runs = { raw: runRaw, 'raw-ceiling': runRawCeiling, http: runHttp };
      for (const m of order) results.push({ ...(await runs[m](target, seeded, settings)), round });
    }
  } finally {
    await target.stop();
  }
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  };
  const rawRuns = results.filter((r) => r.mode === 'raw');
  const httpRuns = results.filter((r) => r.mode === 'http');
  const rawMedian = median(rawRuns.map((r) => r.throughput));
  const httpMedian = median(httpRuns.map((r) => r.throughput));
  // The ratio pairs each round's HTTP run with the raw run next to it, so that a machine whose
  // speed drifts over minutes weighs on both sides of each ratio alike; then the median.
  const roundRatiosTo = (base: RunMode) =>
    Array.from({ length: rounds }, (_, i) => {
      const raw = results.find((r) => r.mode === base && r.round === i);
      const http = httpRuns.find((r) => r.round === i);
      return raw && http && raw.throughput > 0 ? http.throughput / raw.throughput : undefined;
    }).filter((r): r is number => r !== undefined);
  const roundRatios = roundRatiosTo('raw');
  const ratio = roundRatios.length > 0 ? round(median(roundRatios)) : undefined;
  const ceilingRatios = roundRatiosTo('raw-ceiling');
  const ceilingRatio = ceilingRatios.length > 0 ? round(median(ceilingRatios)) : undefined;
  const integrity = integrityFailures(results);
  const deliveryP99 = httpRuns.length > 0 ? round(median(httpRuns.map((r) => r.delivery?.p99 ?? NaN))) : undefined;
  const verdict = barVerdict(results, ratio, deliveryP99);
  if (values.json) {
    console.log(
      JSON.stringify(
        {
          settings: { ...settings, rounds },
          results,
          medians: { raw: rawMedian, http: httpMedian, deliveryP99 },
          roundRatios: roundRatios.map(round),
          httpToRawRatio: ratio,
          httpToRawCeilingRatio: ceilingRatio,
          bar: verdict,
          integrity,
        },
        null,
        2,
      ),
    );
    if (values.quick && integrity.length > 0) throw new Error(`integrity: ${integrity.join('; ')}`);
    return;
  }
  console.log(`\nsettings: concurrency ${settings.concurrency}, channels ${settings.channels}, users ${settings.users}, subscribers/channel ${settings.subscribers}, ${settings.duration}s (+${settings.warmup}s warm-up), pool ${settings.pool}, post limit ${values['post-limit'] ? 'on' : 'off'}`);
  for (const r of results) {
    console.log(
      `${r.mode.padEnd(11)}  ${String(r.throughput).padStart(8)} msgs/s  POST p50 ${r.postLatencyMs.p50} ms  p95 ${r.postLatencyMs.p95} ms  p99 ${r.postLatencyMs.p99} ms  errors ${r.errors}  seq duplicates ${r.seq.duplicates} gaps ${r.seq.gaps}`,
    );
    if (r.cpu) console.log(`      ${formatCpu(r.cpu)}`);
    if (r.delivery && r.delivery.expected === 0) console.log('      delivery: no subscribers');
    else if (r.delivery) console.log(`      delivery p50 ${r.delivery.p50} ms  p99 ${r.delivery.p99} ms  delivered ${r.delivery.delivered} / expected ${r.delivery.expected}`);
    const d = r.deliveryIntegrity;
    if (d) console.log(`      deliveries lost ${d.lost}  duplicated ${d.duplicated}  out of order ${d.outOfOrder}`);
  }
  if (rounds > 1) {
    if (rawRuns.length) console.log(`median raw   ${round(rawMedian)} msgs/s over ${rawRuns.length} runs`);
    if (httpRuns.length) {
      const p99s = httpRuns.map((r) => r.delivery?.p99 ?? NaN);
      console.log(`median http  ${round(httpMedian)} msgs/s, delivery p99 median ${deliveryP99} ms (worst ${Math.max(...p99s)} ms) over ${httpRuns.length} runs`);
    }
  }
  if (ratio !== undefined) {
    const perRound = roundRatios.length > 1 ? ` (median of the rounds: ${roundRatios.map((r) => `${Math.round(r * 100)}%`).join(', ')})` : '';
    console.log(`http / raw throughput: ${Math.round(ratio * 100)}%${perRound}`);
  }
  if (ceilingRatio !== undefined) {
    const perRound = ceilingRatios.length > 1 ? ` (median of the rounds: ${ceilingRatios.map((r) => `${Math.round(r * 100)}%`).join(', ')})` : '';
    console.log(`http / raw ceiling throughput: ${Math.round(ceilingRatio * 100)}%${perRound}`);
  }
  if (values.quick) {
    console.log(integrity.length === 0 ? 'quick: every delivery once and in order, seqs without duplicates or gaps' : `quick: FAILED: ${integrity.join('; ')}`);
    if (integrity.length > 0) throw new Error(`integrity: ${integrity.join('; ')}`);
  }
  if (verdict) console.log(`performance bar: ${verdict.checks.map((c) => `${c.name} ${c.ok ? 'ok' : 'MISSED'}`).join(', ')} → ${verdict.met ? 'met' : 'not met'}`);
}

/**
 * What `--quick` fails on, and only that: a delivery lost, duplicated or out of order, a seq
 * duplicated or missing. Never a timing or a ratio (shared CI cores are too noisy).
 */
function integrityFailures(results: RunResult[]): string[] {
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
function barVerdict(results: RunResult[], ratio: number | undefined, deliveryP99: number | undefined) {
  if (ratio === undefined || deliveryP99 === undefined) return undefined;
  const checks = [
    { name: 'http/raw ≥ 60%', ok: ratio >= 0.6 },
    { name: 'delivery p99 < 50 ms', ok: deliveryP99 < 50 },
    { name: 'no errors', ok: results.every((r) => r.errors === 0) },
    { name: 'seq integrity', ok: results.every((r) => r.seq.duplicates === 0 && r.seq.gaps === 0) },
    { name: 'every delivery', ok: results.every((r) => !r.delivery || r.delivery.delivered === r.delivery.expected) },
  ];
  return { met: checks.every((c) => c.ok), checks };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
