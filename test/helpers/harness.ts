/**
 * Test harness: real parts only. A Center emulator over HTTP, a fresh database per node
 * (SQLite file, or a throwaway MySQL database when FABRIC_TEST_DB=mysql), the real server on
 * port 0, real HTTP and real socket.io clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, NO_MIGRATIONS } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { io as ioClient, type Socket } from 'socket.io-client';
import { loadConfig, loadDatabaseConfig } from '../../lib/config.js';
import { migrateToLatest, openDatabase } from '../../lib/db/index.js';
import { startAllInOne, type RunningProcess } from '../../scripts/processes.js';
import type { RandomSource } from '../../lib/turns/engine.js';
import { startDevCenter, type DevCenter } from '../../scripts/dev-center.js';

export const TEST_DB: 'mysql' | 'sqlite' = process.env.FABRIC_TEST_DB === 'mysql' ? 'mysql' : 'sqlite';
export const CENTER_KEY = 'test-center-key';

const mysqlServer = {
  host: process.env.FABRIC_TEST_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.FABRIC_TEST_MYSQL_PORT ?? 3306),
  user: process.env.FABRIC_TEST_MYSQL_USER ?? 'root',
  password: process.env.FABRIC_TEST_MYSQL_PASSWORD ?? '',
};
const mysqlPrefix = process.env.FABRIC_TEST_MYSQL_PREFIX ?? 'fabric_test';
let dbCounter = 0;

export interface TestDatabase {
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** A fresh, empty database for one node (or several processes sharing it). */
export async function createTestDatabase(): Promise<TestDatabase> {
  if (TEST_DB === 'mysql') {
    const name = `${mysqlPrefix}_${process.pid}_${++dbCounter}_${Date.now() % 100000}`;
    const conn = await createConnection(mysqlServer);
    await conn.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await conn.end();
    return {
      env: {
        FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql',
        FABRIC_BACKEND_GUILD_DB_HOST: mysqlServer.host,
        FABRIC_BACKEND_GUILD_DB_PORT: String(mysqlServer.port),
        FABRIC_BACKEND_GUILD_DB_USER: mysqlServer.user,
        FABRIC_BACKEND_GUILD_DB_PASSWORD: mysqlServer.password,
        FABRIC_BACKEND_GUILD_DB_NAME: name,
      },
      async drop() {
        const c = await createConnection(mysqlServer);
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await c.end();
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-test-'));
  return {
    env: { FABRIC_BACKEND_GUILD_DB_TYPE: 'sqlite', FABRIC_BACKEND_GUILD_DB_FILE: path.join(dir, 'guild.sqlite') },
    async drop() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The Center emulator as an in-process HTTP server on a free port. */
export const startCenter = () => startDevCenter({ port: 0, apiKey: CENTER_KEY, quiet: true });

/** The environment of a node talking to `center`, on port 0, with the given database. */
export function nodeEnv(center: DevCenter, db: TestDatabase, extra: Record<string, string> = {}): Record<string, string> {
  return {
    FABRIC_BACKEND_GUILD_CENTER_BASE_URL: center.url,
    FABRIC_BACKEND_GUILD_CENTER_API_KEY: CENTER_KEY,
    FABRIC_BACKEND_GUILD_NODE_ID: 'test-node',
    FABRIC_BACKEND_GUILD_PORT: '0',
    FABRIC_BACKEND_GUILD_LOG_LEVEL: process.env.FABRIC_TEST_LOG_LEVEL ?? 'error',
    FABRIC_BACKEND_GUILD_FILE_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-files-')),
    // Many suites post and edit faster than a person would: the flood limits are off unless a
    // suite turns them on (test/messages-flood.test.ts runs them at their defaults and tighter).
    FABRIC_BACKEND_GUILD_POST_RATE_PER_SECOND: '0',
    FABRIC_BACKEND_GUILD_EDIT_RATE_PER_SECOND: '0',
    ...db.env,
    ...extra,
  };
}

export interface TestUser {
  id: string;
  name: string;
  token: string;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  headers: Headers;
  /** The body as received, before any parse. */
  text: string;
}

/** Real HTTP calls against a base URL. */
export function apiClient(baseUrl: string) {
  return async function api<T = any>(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; rawBody?: BodyInit; headers?: Record<string, string> } = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: BodyInit | undefined = opts.rawBody;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text) parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, headers: res.headers, text };
  };
}

/** Dev endpoints of the Center emulator. */
export function centerClient(center: DevCenter) {
  const call = async (path: string, body: unknown) => {
    const res = await fetch(center.url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': CENTER_KEY },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`center ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  let n = 0;
  return {
    /** A new user with a unique name (prefix + counter). */
    user: async (name = 'user'): Promise<TestUser> => call('/api/dev/users', { name: `${name}-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 7)}` }),
    /** Another token of an existing user (valid for `ttlSeconds`, or the emulator's default). */
    token: async (userId: string, ttlSeconds?: number): Promise<string> =>
      (await call(`/api/dev/users/${encodeURIComponent(userId)}/tokens`, ttlSeconds ? { ttlSeconds } : {})).token,
    guildToken: async (guildId: string): Promise<string> => (await call('/api/dev/guild-tokens', { guildId })).token,
    revoke: (token: string) => call('/api/dev/tokens/revoke', { token }),
    fail: (mode: 'none' | 'down' | '5xx', delayMs = 0) => call('/api/dev/fail', { mode, delayMs }),
    stats: async () => (await fetch(center.url + '/api/dev/stats', { headers: { 'x-api-key': CENTER_KEY } })).json() as Promise<Record<string, number>>,
  };
}

/** A socket.io client on /realtime, connected (rejects with the connect_error message). */
export function connectSocket(baseUrl: string, token: string | undefined, opts: { query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = ioClient(`${baseUrl}/realtime`, {
      auth: token ? { token } : {},
      query: opts.query,
      extraHeaders: opts.headers,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Resolves with the next `event` on `socket` (rejects after `timeoutMs`). */
export function nextEvent<T = any>(socket: Socket, event: string, timeoutMs = 3000, filter: (data: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const on = (data: T) => {
      if (!filter(data)) return;
      clearTimeout(timer);
      socket.off(event, on);
      resolve(data);
    };
    socket.on(event, on);
  });
}

/** Records every `event` on `socket` into an array (for asserting that nothing arrived). */
export function recordEvents<T = any>(socket: Socket, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (d: T) => seen.push(d));
  return seen;
}

/** Emits with an ack and resolves with the ack. */
export const emitAck = <T = any>(socket: Socket, event: string, payload: unknown): Promise<T> => new Promise((resolve) => socket.emit(event, payload, (ack: T) => resolve(ack)));

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface TestNode {
  url: string;
  node: RunningProcess & Pick<Awaited<ReturnType<typeof startAllInOne>>, 'realtime'>;
  center: DevCenter;
  api: ReturnType<typeof apiClient>;
  centerApi: ReturnType<typeof centerClient>;
  socket(token: string): Promise<Socket>;
  close(): Promise<void>;
}

/** What the fixture helpers need of a node: its REST API and the Center emulator's client. */
export type RestFixture = Pick<TestNode, 'api' | 'centerApi'>;

/** The fixture side of a node started by the test itself (split processes, children): REST at `url`, users from `center`. */
export const restFixture = (url: string, center: DevCenter): RestFixture => ({ api: apiClient(url), centerApi: centerClient(center) });

/** Brings a test database's schema up to date, as `npm run migrate` would before split processes start with DB_SYNC=false. */
export async function migrateTestDatabase(db: TestDatabase): Promise<void> {
  const handle = await openDatabase(loadDatabaseConfig(db.env));
  try {
    await migrateToLatest(handle.db, () => undefined);
  } finally {
    await handle.destroy();
  }
}

/** The name of kysely's migration lock on MySQL (GET_LOCK, held while a migration step runs). */
const KYSELY_MYSQL_MIGRATION_LOCK = 'ea586330-2c93-47c8-908d-981d9d270f9d';

/**
 * Holds back every migration on `db` until `release`: on SQLite the file's write lock (a
 * transaction of the test), on MySQL kysely's migration lock. A process that starts migrating
 * meanwhile waits at its first write (on SQLite up to busy_timeout, 10 s). Kysely's own tables
 * are made first, so that what waits is the first migration, not their creation.
 */
export async function holdMigrations(db: TestDatabase): Promise<{ release(): Promise<void> }> {
  const handle = await openDatabase(loadDatabaseConfig(db.env));
  try {
    const { error } = await new Migrator({ db: handle.db, provider: { getMigrations: async () => ({}) } }).migrateTo(NO_MIGRATIONS);
    if (error) throw error;
  } finally {
    await handle.destroy();
  }
  if (TEST_DB === 'mysql') {
    const conn = await createConnection({ ...mysqlServer, database: db.env.FABRIC_BACKEND_GUILD_DB_NAME });
    await conn.query('select get_lock(?, 10)', [KYSELY_MYSQL_MIGRATION_LOCK]);
    return { release: () => conn.end() };
  }
  const { default: BetterSqlite3 } = await import('better-sqlite3');
  const file = new BetterSqlite3(db.env.FABRIC_BACKEND_GUILD_DB_FILE);
  file.pragma('journal_mode = WAL');
  file.exec('begin immediate');
  return {
    release: async () => {
      file.exec('commit');
      file.close();
    },
  };
}

/** The environment of a split-mode process (API or realtime) started by a test: one node id and internal secret, schema migrated beforehand. */
export const splitProcessEnv = (center: DevCenter, db: TestDatabase, ids: { nodeId: string; secret: string }, extra: Record<string, string> = {}) => ({
  ...nodeEnv(center, db),
  FABRIC_BACKEND_GUILD_NODE_ID: ids.nodeId,
  FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info',
  FABRIC_BACKEND_GUILD_INTERNAL_SECRET: ids.secret,
  FABRIC_BACKEND_GUILD_DB_SYNC: 'false',
  ...extra,
});

/**
 * A Center emulator and a database of their own, for a test that starts and kills node
 * processes itself: `env(extra)` is the environment of a process on them; `close` stops
 * Center and drops the database.
 */
export async function privateBackends() {
  const center = await startCenter();
  const db = await createTestDatabase();
  return {
    center,
    db,
    env: (extra: Record<string, string> = {}) => nodeEnv(center, db, extra),
    async close() {
      await center.close();
      await db.drop();
    },
  };
}

/** Starts Center emulator + database + all-in-one node. Close it in afterAll. */
export async function startTestNode(opts: { env?: Record<string, string>; random?: RandomSource } = {}): Promise<TestNode> {
  const center = await startCenter();
  const db = await createTestDatabase();
  const config = loadConfig(nodeEnv(center, db, opts.env));
  const node = await startAllInOne(config, { random: opts.random, heartbeat: false });
  const sockets: Socket[] = [];
  return {
    url: node.url,
    node,
    center,
    api: apiClient(node.url),
    centerApi: centerClient(center),
    async socket(token) {
      const s = await connectSocket(node.url, token);
      sockets.push(s);
      return s;
    },
    async close() {
      for (const s of sockets) s.close();
      await node.close();
      await center.close();
      await db.drop();
    },
  };
}

/** A guild owned by a fresh user, plus `n` more members. Returns users and the guild id. */
export async function seedGuild(t: RestFixture, memberCount = 2) {
  const owner = await t.centerApi.user('owner');
  const members: TestUser[] = [];
  for (let i = 0; i < memberCount; i++) members.push(await t.centerApi.user('member'));
  const g = await t.api('POST', '/api/guilds', { token: owner.token, body: { name: 'Guild' } });
  if (g.status !== 201) throw new Error(`guild create failed: ${g.status} ${JSON.stringify(g.body)}`);
  const guildId: string = g.body.guild.id;
  if (members.length > 0) {
    const r = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: members.map((m) => m.id) } });
    if (r.status !== 200) throw new Error(`add members failed: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { owner, members, guildId };
}

/** Creates a channel as `token` and returns it (throws unless 201). */
export async function createChannel(t: RestFixture, token: string, body: Record<string, unknown>) {
  const r = await t.api('POST', '/api/channels', { token, body });
  if (r.status !== 201) throw new Error(`channel create failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.channel as { id: string; guildId: string; xType: string; [k: string]: unknown };
}

// ---------------------------------------------------------------------------------------
// Child processes: the real entry points (scripts/*.ts under tsx, or built bundles under
// plain node), for startup, split-mode and standalone-bundle suites.

/** The repository root (where package.json is). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** This process's environment without any FABRIC_BACKEND_GUILD_* variable, so children see only what a test gives them. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FABRIC_BACKEND_GUILD_')) env[k] = v;
  return { ...env, ...extra };
}

export interface ChildRun {
  proc: ChildProcess;
  /** Everything the child wrote to stdout / stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) once the child exited and its output was read. */
  exited: Promise<number | string>;
  /** Resolves with the JSON fields of the first log line containing `message` (rejects if the child exits first or after `timeoutMs`). */
  waitForLog(message: string, timeoutMs?: number): Promise<Record<string, any>>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** The Bun binary of the `bun` devDependency. */
export const BUN = path.join(REPO_ROOT, 'node_modules/.bin/bun');

/**
 * Spawns `node [--import tsx] <file> …args` (or `bun <file> …args` with runtime 'bun') in the
 * repository with exactly `env` (plus PATH etc. from cleanEnv).
 */
export function spawnNode(file: string, env: Record<string, string>, opts: { args?: string[]; tsx?: boolean; runtime?: 'node' | 'bun' } = {}): ChildRun {
  const tsx = opts.runtime !== 'bun' && (opts.tsx ?? file.endsWith('.ts'));
  const command = opts.runtime === 'bun' ? BUN : process.execPath;
  const proc = spawn(command, [...(tsx ? ['--import', 'tsx'] : []), file, ...(opts.args ?? [])], {
    cwd: REPO_ROOT,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | string>((resolve) => proc.once('close', (code, signal) => resolve(code ?? signal ?? -1)));
  let done = false;
  void exited.then(() => (done = true));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForLog(message, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        let settled = false;
        const settle = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          proc.stderr!.off('data', find);
          fn();
        };
        function find() {
          const line = err.split('\n').find((l) => l.includes(message));
          if (!line) return;
          // A JSON log line (lib/logger.ts) is the entry; a pretty one has its fields after the message.
          const brace = line.startsWith('{') ? 0 : line.indexOf('{', line.indexOf(message));
          settle(() => resolve(brace >= 0 ? JSON.parse(line.slice(brace)) : {}));
        }
        const timer = setTimeout(() => settle(() => reject(new Error(`no "${message}" within ${timeoutMs} ms; stderr:\n${err}`))), timeoutMs);
        proc.stderr!.on('data', find);
        void exited.then((code) => settle(() => reject(new Error(`${file} exited (${code}) before "${message}"; stderr:\n${err}`))));
        find();
      });
    },
    async stop() {
      if (done) return;
      proc.kill('SIGTERM');
      const kill = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(kill);
    },
  };
}

/** A port that was free a moment ago (for a server that must start later on a known port). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `probe` until it returns a value other than undefined (rejects after `timeoutMs`, with `what` in the message). */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}
