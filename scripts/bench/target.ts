/**
 * What the benchmark runs against: a Center emulator and the node's processes, started here on
 * a throwaway MySQL database — all-in-one (scripts/main.ts) or split (scripts/realtime.ts and
 * API processes, scripts/api.ts) — or a node already running (--url).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { createConnection } from 'mysql2/promise';
import { startDevCenter, type DevCenter } from '../dev-center.js';
import { dbServer, values } from './options.js';
import { nodeCommand } from './cpu-pinning.js';

const CENTER_KEY = 'bench-center-key';
const INTERNAL_SECRET = `bench-secret-${process.pid}`;

/** One process of the node, started by the benchmark. */
export interface NodeProcess {
  label: string;
  readonly pid: number;
  /** Its Prometheus listener (METRICS_PORT). */
  metricsUrl: string;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
  /** Start it again with the same environment and ports; resolves once it is ready. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface Target {
  /** Where REST goes (the first API process in split mode). */
  url: string;
  /** Every URL that serves REST (each API process in split mode). */
  apiUrls: string[];
  /** Where socket.io clients connect (namespace /realtime on it). */
  realtimeUrl: string;
  centerUrl: string;
  centerKey: string;
  /** Env of the node's database, for the raw runs. */
  nodeEnv?: Record<string, string>;
  /** The node's processes, when the benchmark started them: the all-in-one `node`, or `realtime` and `api-1`… */
  processes: NodeProcess[];
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** A node given by --url: only what its URLs allow (no raw runs, no CPU of the node). */
export function givenTarget(): Target {
  if (!values['center-url'] || !values['center-key']) throw new Error('--url needs --center-url and --center-key');
  const url = values.url!.replace(/\/+$/, '');
  return { url, apiUrls: [url], realtimeUrl: url, centerUrl: values['center-url'], centerKey: values['center-key'], processes: [], stop: async () => {} };
}

/** Targets started by this process (each gets its own database). */
let targets = 0;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Spawns `script` under tsx with `env`, and waits until `readyUrl` answers 2xx. */
async function spawnProcess(label: string, script: string, env: Record<string, string>, readyUrl: string, metricsPort: number, cwd?: string): Promise<NodeProcess> {
  let child: ChildProcess;
  const start = async () => {
    const [command, args] = nodeCommand(process.execPath, [...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', script]);
    child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env, FABRIC_BACKEND_GUILD_METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    for (let i = 0; ; i++) {
      try {
        if ((await fetch(readyUrl)).ok) return;
      } catch {
        /* not up yet */
      }
      if (i > 300 || child.exitCode !== null) throw new Error(`the ${label} process did not start`);
      await sleep(100);
    }
  };
  const exited = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r())));
  await start();
  return {
    label,
    get pid() {
      return child.pid!;
    },
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    async kill9() {
      child.kill('SIGKILL');
      await exited();
    },
    restart: start,
    async stop() {
      child.kill('SIGINT');
      await exited();
    },
  };
}

/**
 * Starts a Center emulator and the node on a throwaway MySQL database: one all-in-one process,
 * or (`apiProcesses` > 0) one realtime process and that many API processes. `cwd`: the
 * checkout the node's processes run from (default this one).
 */
export async function startTarget(opts: { pool: number; apiProcesses?: number; env?: Record<string, string>; cwd?: string }): Promise<Target> {
  const server = dbServer();
  const dbName = `fabric_bench_${process.pid}_${++targets}`;
  const admin = await createConnection(server);
  await admin.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await admin.end();
  const center: DevCenter = await startDevCenter({ port: 0, apiKey: CENTER_KEY, quiet: true });
  const nodeEnv: Record<string, string> = {
    FABRIC_BACKEND_GUILD_CENTER_BASE_URL: center.url,
    FABRIC_BACKEND_GUILD_CENTER_API_KEY: CENTER_KEY,
    FABRIC_BACKEND_GUILD_NODE_ID: 'bench-node',
    FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql',
    FABRIC_BACKEND_GUILD_DB_HOST: server.host,
    FABRIC_BACKEND_GUILD_DB_PORT: String(server.port),
    FABRIC_BACKEND_GUILD_DB_USER: server.user,
    FABRIC_BACKEND_GUILD_DB_PASSWORD: server.password,
    FABRIC_BACKEND_GUILD_DB_NAME: dbName,
    FABRIC_BACKEND_GUILD_DB_POOL: String(opts.pool),
    // The benchmark measures posting, not the flood limit: off, or on with a bucket no loop empties.
    FABRIC_BACKEND_GUILD_POST_RATE_PER_SECOND: values['post-limit'] ? '1000000' : '0',
    FABRIC_BACKEND_GUILD_POST_BURST: '1000000',
    FABRIC_BACKEND_GUILD_LOG_LEVEL: 'warn',
    ...opts.env,
  };
  const processes: NodeProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await center.close();
    const c = await createConnection(server);
    await c.query(`DROP DATABASE IF EXISTS \`${dbName}\``);
    await c.end();
  };
  try {
    if (!opts.apiProcesses) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const env = { ...nodeEnv, FABRIC_BACKEND_GUILD_PORT: String(port) };
      processes.push(await spawnProcess('node', 'scripts/main.ts', env, `${url}/api/ready`, await freePort(), opts.cwd));
      return { url, apiUrls: [url], realtimeUrl: url, centerUrl: center.url, centerKey: CENTER_KEY, nodeEnv: env, processes, stop };
    }
    // Split: the realtime process migrates the database; the API processes start after it without.
    const [rtPort, internalPort] = [await freePort(), await freePort()];
    const realtimeUrl = `http://127.0.0.1:${rtPort}`;
    const shared = { ...nodeEnv, FABRIC_BACKEND_GUILD_INTERNAL_SECRET: INTERNAL_SECRET };
    processes.push(
      await spawnProcess(
        'realtime',
        'scripts/realtime.ts',
        { ...shared, FABRIC_BACKEND_GUILD_REALTIME_PORT: String(rtPort), FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: String(internalPort) },
        `${realtimeUrl}/ready`,
        await freePort(),
        opts.cwd,
      ),
    );
    const apiUrls: string[] = [];
    const apis = await Promise.all(
      Array.from({ length: opts.apiProcesses }, async (_, i) => {
        const port = await freePort();
        const url = `http://127.0.0.1:${port}`;
        apiUrls[i] = url;
        const env = {
          ...shared,
          FABRIC_BACKEND_GUILD_PORT: String(port),
          FABRIC_BACKEND_GUILD_DB_SYNC: 'false',
          FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${internalPort}`,
        };
        return spawnProcess(`api-${i + 1}`, 'scripts/api.ts', env, `${url}/api/ready`, await freePort(), opts.cwd);
      }),
    );
    processes.push(...apis);
    return { url: apiUrls[0], apiUrls, realtimeUrl, centerUrl: center.url, centerKey: CENTER_KEY, nodeEnv, processes, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** The value of one unlabelled (or first-labelled) sample of a Prometheus text page. */
export function metricValue(page: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+|NaN)$`, 'm').exec(page);
  return m ? Number(m[1]) : undefined;
}

export async function scrape(proc: NodeProcess): Promise<string> {
  const res = await fetch(proc.metricsUrl);
  return res.text();
}
