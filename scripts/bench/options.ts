/**
 * The command line of `npm run bench`: one option table for every mode, the help text of each
 * mode, and the integer checks. Parsed once, when this module loads.
 */
import { parseArgs } from 'node:util';

export const MODES = ['both', 'http', 'raw', 'raw-ceiling', 'fanout', 'idle', 'split', 'recovery', 'batch-sql'] as const;
export type Mode = (typeof MODES)[number];

const COMMON = `  --db-host/--db-port/--db-user/--db-password   MySQL server (default 127.0.0.1:3306 root, empty)
  --pool <N>              MySQL pool size of the node and of the raw runs (default 10)
  --pin                   the node's processes on CPU 0, the bench and its client processes on
                          the other CPUs (Linux taskset; the database server is not pinned)
  --json                  print the results as JSON (no progress lines)
  -h, --help              this text (with --mode M: that mode's text)`;

const POST_PATH = `Usage: npm run bench -- [options]

Modes (--mode M; --mode M --help tells more of each):
  both (default), http, raw, raw-ceiling   the post path (below)
  fanout      N sockets per channel in client processes: the node's CPU per delivery, p99
  idle        10,000 idle authenticated sockets: memory per socket, event-loop lag, connect rate
  split       the post-path load through two API processes and one realtime process
  recovery    kill -9 and restart of the node: seconds until every SDK subscriber caught up
  batch-sql   the database's time per post batch of the group commit, part by part (no node)

The post path:
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
  --compare <DIR>         A/B of two checkouts in the same run: a second node started from
                          the checkout in DIR (its own scripts/main.ts and node_modules, its
                          own database) gets an HTTP run beside every HTTP run of this one
                          ("http-compare"), the two in alternating order; reports its medians,
                          its ratio to the raw ceiling and this checkout's HTTP / its HTTP per round
  --post-limit            keep the post flood limit on, with a bucket no loop empties (its
                          statement runs on every post); without it the limit is off (rate 0)
  --url <URL>             use a running node instead of starting one (needs --center-url, --center-key)
  --center-url <URL>      the Center emulator of that node
  --center-key <KEY>      its API key
${COMMON}`;

const FANOUT = `Usage: npm run bench -- --mode fanout [options]

Fan-out: for each size in --sockets, that many sockets spread evenly over --channels channels
(sockets / channels subscribers per channel), held by --client-procs child processes that speak
the socket.io protocol over a bare websocket and only count frames and take timestamps. A few
posting loops post at a fixed --rate for --duration seconds; every post is delivered to every
socket of its channel. Reports the node's CPU per delivery (µs, from /proc), delivery latency
p50/p99 (post sent → frame received, one clock: the client processes share the machine's
monotonic clock), deliveries lost, duplicated and out of order, and the client processes' CPU.
Targets (docs/performance.md): at 1,000 sockets ≤ 10 µs node CPU per delivery, p99 < 50 ms,
nothing lost or duplicated.

  --sockets <list>        socket counts, one run each (default 0,100,1000,5000; the run with 0
                          sockets, at 200 posts/s, gives the CPU per post that the "net"
                          figure of the sizes at the same rate leaves out: 1,000 by default)
  --channels <M>          channels (default 8)
  --rate <R>              posts per second over all channels (default: 25,000 deliveries/s
                          over the sockets, at most 400 posts/s)
  --concurrency <C>       posting loops, each paced to its share of the rate (default 32)
  --client-procs <P>      client processes holding the sockets (default 4)
  --duration <T>          seconds measured per size (default 6)
  --warmup <W>            seconds of warm-up per size (default 1)
  --node-warmup <S>       seconds of unmeasured posting (200 posts/s, no sockets) on each node
                          before its first size (default 5): without it the first size also
                          measures the node's code being compiled and optimized
  --users <U>             users (default: enough for one socket's user per 10 sockets, at least 32)
  --split-shape           split deployment: --api-procs API processes take the posts (the
                          loops alternate), one realtime process holds the sockets; adds each
                          process's CPU per delivery and per post
  --api-procs <N>         API processes with --split-shape (default 2)
  --ab <NAME=v1,v2>       A/B in the same run: one node per value of the setting
                          FABRIC_BACKEND_GUILD_NAME (e.g. REALTIME_FLUSH_MS=0,5), each size run
                          on each node in turn, the order alternating from size to size
  --compare <DIR>         A/B of two checkouts in the same run: a node of this checkout and one
                          started from the checkout in DIR, each size run on both in turn (the
                          order alternating); reports this node's CPU per post over the other's
                          per size and their median. A size may repeat: --sockets 0,0,0,0
                          --rate 2000 gives four pairs at a fixed load
${COMMON}`;

const IDLE = `Usage: npm run bench -- --mode idle [options]

Idle sockets: --sockets authenticated sockets, each joined to one of --channels channels, held
by --client-procs child processes, connected --connect-batch at a time. Reports the node's
memory (RSS and V8 heap used) before and after, per socket over the baseline, the connect rate,
the node's event-loop lag p99 while the sockets sit idle (prom-client's histogram, read from
the node's /metrics on METRICS_PORT) and whether one post per channel still reaches every
socket. Needs one file descriptor per socket in the node and in the client processes: the bench
raises its soft limit of open files to the hard limit (children inherit it) and refuses to run
when that is short, saying what it needs.

  --sockets <N>           idle sockets (default 10000)
  --channels <M>          channels (default 100)
  --users <U>             users the sockets log in as (default 500; each user's token is
                          validated once against the Center emulator, then cached by the node)
  --client-procs <P>      client processes (default 4)
  --connect-batch <B>     connects in flight per client process (default 50)
  --idle <S>              seconds the sockets sit idle while the lag is sampled (default 10)
${COMMON}`;

const SPLIT = `Usage: npm run bench -- --mode split [options]

Split deployment: the post-path HTTP load of --mode http (same options, same integrity check)
through two API processes (scripts/api.ts, the posting loops alternate between them) and one
realtime process (scripts/realtime.ts) on this machine, sharing one MySQL database. Reports
throughput, POST and delivery latency, and the hand-over latency: per post, from its HTTP
response (the API process committed and queued the event) to its first delivery (the realtime
process emitted it), and the API processes' internal call duration histogram
(fabric_event_handover_call_duration_seconds).

  --concurrency, --channels, --users, --subscribers, --duration, --warmup   as for --mode http
  --api-procs <N>         API processes (default 2)
${COMMON}`;

const RECOVERY = `Usage: npm run bench -- --mode recovery [options]

Recovery: --subscribers-total SDK clients (lib/client, FabricClient) follow --channels channels
while a few loops post at --rate through REST. After --before seconds the node process gets
kill -9 and is started again on the same database and port; posting goes on (retrying with
clientMsgId while the node is down). Reports the seconds from the kill to the moment every
subscriber has received every event posted so far (through resume from its last position) and,
separately, the seconds until the node answered /api/ready again; lost, duplicated and
out-of-order deliveries at the end. All-in-one by default; with --split-shape the node runs
split (--api-procs API processes and one realtime process) and only the realtime process is
killed and restarted: the SDK clients take its URL as realtimeUrl, posts keep being stored by
the API processes meanwhile, and what their hand-over lost is delivered from the event log.

  --subscribers-total <N> SDK subscribers (default 100)
  --channels <M>          channels (default 10)
  --rate <R>              posts per second (default 50)
  --before <S>            seconds of posting before the kill (default 3)
  --after <S>             seconds of posting after the node is back (default 3)
  --rounds <R>            kill/restart rounds (default 3)
  --backoff <base,max>    the subscribers' reconnect backoff in ms (default the SDK's: 250,10000)
  --split-shape           split deployment; the realtime process is the one killed
  --api-procs <N>         API processes with --split-shape (default 2)
${COMMON}`;

const BATCH_SQL = `Usage: npm run bench -- --mode batch-sql [options]

What one post batch of the MySQL group commit costs the database, part by part: the batch's
statements as the node builds them, sent as one multi-statement query on one connection of a
throwaway database, no node and no HTTP. Each variant leaves one part out (or checks the
authors another way) only to weigh it; variants run in turn, the order reversed every other
round. Reports each variant's median time per batch over the rounds and its share of as-is
(and, with --by-statement, each statement's median time as the server measured it).
Variants: as-is (known authors, checked by members version), member-rows (authors checked
against the member rows), no-author-check, no-read-back, no-events, no-messages-insert, rollback.

  --variants <list>       which variants, comma-separated (default all)
  --posts <N>             posts per batch (default 15: a batch under the default HTTP load)
  --channels <M>          general channels the posts go to (default 8)
  --users <U>             members, spread over the channels (default 32)
  --batches <B>           batches per variant and round (default 150)
  --rounds <R>            rounds (default 8, at most 20)
  --by-statement          also time each statement of the batch on the server (MySQL's
                          session profiling, SHOW PROFILES): which statement a part's cost is
                          in; profiling adds its own cost to every statement, so the times per
                          batch of such a run are not compared with those of a run without it
${COMMON}`;

export const HELP: Record<Mode, string> = {
  both: POST_PATH,
  http: POST_PATH,
  raw: POST_PATH,
  'raw-ceiling': POST_PATH,
  fanout: FANOUT,
  idle: IDLE,
  split: SPLIT,
  recovery: RECOVERY,
  'batch-sql': BATCH_SQL,
};

export const { values } = parseArgs({
  options: {
    mode: { type: 'string', default: 'both' },
    raw: { type: 'boolean', default: false },
    'raw-ceiling': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string' },
    channels: { type: 'string' },
    users: { type: 'string' },
    subscribers: { type: 'string', default: '2' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'node-warmup': { type: 'string' },
    rounds: { type: 'string' },
    'db-host': { type: 'string', default: '127.0.0.1' },
    'db-port': { type: 'string', default: '3306' },
    'db-user': { type: 'string', default: 'root' },
    'db-password': { type: 'string', default: '' },
    pool: { type: 'string', default: '10' },
    'post-limit': { type: 'boolean', default: false },
    url: { type: 'string' },
    'center-url': { type: 'string' },
    'center-key': { type: 'string' },
    sockets: { type: 'string' },
    rate: { type: 'string' },
    'client-procs': { type: 'string' },
    'connect-batch': { type: 'string' },
    idle: { type: 'string' },
    'api-procs': { type: 'string', default: '2' },
    'split-shape': { type: 'boolean', default: false },
    'subscribers-total': { type: 'string', default: '100' },
    before: { type: 'string', default: '3' },
    after: { type: 'string', default: '3' },
    backoff: { type: 'string' },
    ab: { type: 'string' },
    compare: { type: 'string' },
    variants: { type: 'string' },
    'by-statement': { type: 'boolean', default: false },
    posts: { type: 'string' },
    batches: { type: 'string' },
    pin: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

/** The mode asked for: `--raw` and `--raw-ceiling` are short for their --mode. */
export function selectedMode(): Mode {
  const mode = values.raw ? 'raw' : values['raw-ceiling'] ? 'raw-ceiling' : values.mode;
  if (!(MODES as readonly string[]).includes(mode!)) throw new Error(`--mode must be one of ${MODES.join(', ')} (got "${mode}")`);
  return mode as Mode;
}

/** `--name` as an integer in min..max, or `fallback` when not given. */
export function int(name: keyof typeof values, fallback: number, min: number, max: number): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer in ${min}..${max} (got "${v}")`);
  return n;
}

/** `--name` as a comma-separated list of integers in min..max. */
export function intList(name: keyof typeof values, fallback: number[], min: number, max: number): number[] {
  const v = values[name];
  if (v === undefined) return fallback;
  const list = String(v)
    .split(',')
    .map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < min || n > max))
    throw new Error(`--${name} must be a comma-separated list of integers in ${min}..${max} (got "${v}")`);
  return list;
}

/** Progress lines go to a terminal only, and never with --json. */
export const progressOnTty = Boolean(process.stdout.isTTY) && !values.json;

/** A one-line progress display that rewrites itself on a terminal and prints nothing elsewhere. */
export function progress(text: string): void {
  if (progressOnTty) process.stdout.write(`\r${text}\x1b[K`);
}
export function progressDone(): void {
  if (progressOnTty) process.stdout.write('\r\x1b[K');
}

export const dbServer = () => ({
  host: values['db-host']!,
  port: Number(values['db-port']),
  user: values['db-user']!,
  password: values['db-password']!,
});
