/**
 * Startup of the all-in-one entry (scripts/main.ts) as a real child process: configuration
 * errors abort with one line naming the variable (an unusable FILE_DIR too, and for the API
 * entry as well); registration and heartbeat reach the Center emulator; Center being down
 * at startup does not stop the node.
 */
import fs from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCenter } from '../scripts/dev-center.js';
import { startDevCenter } from '../scripts/dev-center.js';
import {
  apiClient,
  CENTER_KEY,
  centerClient,
  createTestDatabase,
  freePort,
  holdMigrations,
  nodeEnv,
  spawnNode,
  sleep,
  startCenter,
  TEST_DB,
  waitFor,
  type ChildRun,
  type TestDatabase,
} from './helpers/harness.js';

const MAIN = 'scripts/main.ts';
const REQUIRED = ['FABRIC_BACKEND_GUILD_CENTER_BASE_URL', 'FABRIC_BACKEND_GUILD_CENTER_API_KEY', 'FABRIC_BACKEND_GUILD_NODE_ID'];

const children: ChildRun[] = [];
const databases: TestDatabase[] = [];
const centers: DevCenter[] = [];

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  await Promise.all(centers.map((c) => c.close()));
  await Promise.all(databases.map((d) => d.drop()));
});

/** A valid environment for a node of its own (fresh database), talking to `centerUrl`. */
async function validEnv(centerUrl: string, extra: Record<string, string> = {}) {
  const db = await createTestDatabase();
  databases.push(db);
  return {
    ...nodeEnv({ url: centerUrl } as DevCenter, db),
    FABRIC_BACKEND_GUILD_NODE_ID: `startup-${Math.random().toString(36).slice(2, 10)}`,
    FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info',
    ...extra,
  };
}

function run(env: Record<string, string>, entry: string = MAIN, args?: string[]) {
  const child = spawnNode(entry, env, args ? { args } : undefined);
  children.push(child);
  return child;
}

/** Runs an entry point (main.ts unless said) to its exit; returns the exit code and the non-empty stderr lines. */
async function runToExit(env: Record<string, string>, entry: string = MAIN, args?: string[]) {
  const child = run(env, entry, args);
  const code = await child.exited;
  return {
    code,
    lines: child
      .stderr()
      .split('\n')
      .filter((l) => l.trim() !== ''),
  };
}

// Each case is a process of its own that exits by itself: run them side by side.
describe.concurrent('scripts/main.ts configuration errors', () => {
  let env: Record<string, string>;
  beforeAll(async () => {
    env = await validEnv('http://127.0.0.1:9');
  });

  for (const name of REQUIRED) {
    it(`exits non-zero with one line naming ${name} when it is missing`, async () => {
      const { [name]: _, ...without } = env;
      const { code, lines } = await runToExit(without);
      expect(code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(name);
    });
  }

  it('exits non-zero naming a required variable that is set but empty', async () => {
    const { code, lines } = await runToExit({ ...env, FABRIC_BACKEND_GUILD_NODE_ID: '  ' });
    expect(code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('FABRIC_BACKEND_GUILD_NODE_ID');
  });

  it('exits non-zero with one line naming an unknown option (settings are environment variables)', async () => {
    const { code, lines } = await runToExit(env, MAIN, ['--port', '7002']);
    expect(code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/--port.*environment variables/);
  });

  for (const bad of ['seven', '70000']) {
    it(`exits non-zero with one line naming FABRIC_BACKEND_GUILD_PORT when it is "${bad}"`, async () => {
      const { code, lines } = await runToExit({ ...env, FABRIC_BACKEND_GUILD_PORT: bad });
      expect(code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('FABRIC_BACKEND_GUILD_PORT');
    });
  }
});

describe.concurrent('--help of the server entry points', () => {
  for (const entry of [MAIN, 'scripts/api.ts', 'scripts/realtime.ts']) {
    // An unknown option's message sends the reader to --help for the settings.
    it(`${entry} --help names the required variables`, async () => {
      const child = spawnNode(entry, {}, { args: ['--help'] });
      children.push(child);
      expect(await child.exited).toBe(0);
      for (const name of REQUIRED) expect(child.stdout()).toContain(name);
    });
  }
});

describe('scripts/realtime.ts configuration errors', () => {
  it('exits non-zero with one line naming FABRIC_BACKEND_GUILD_REDIS_URL when the Redis client could not parse it, without its password', async () => {
    const env = await validEnv('http://127.0.0.1:9', {
      FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'startup-secret',
      FABRIC_BACKEND_GUILD_REALTIME_PORT: '0',
      FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0',
      FABRIC_BACKEND_GUILD_REDIS_URL: 'redis://:Hunter2-pw@127.0.0.1:6379/cache',
    });
    const { code, lines } = await runToExit(env, 'scripts/realtime.ts');
    expect(code).not.toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('FABRIC_BACKEND_GUILD_REDIS_URL is invalid');
    expect(lines[0]).not.toContain('Hunter2');
  });
});

describe.concurrent('listeners that cannot open: the message names the variables', () => {
  // A database each: processes migrating one SQLite file side by side would fail on that first.
  const ownEnv = () => validEnv('http://127.0.0.1:9', { FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'startup-secret' });

  const cases: [string, string, Record<string, string>, string][] = [
    [
      'scripts/realtime.ts',
      'an internal host that does not resolve',
      { FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_HOST: 'nowhere.invalid' },
      'FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_HOST',
    ],
    [
      MAIN,
      'a metrics host that does not resolve',
      { FABRIC_BACKEND_GUILD_PORT: '0', FABRIC_BACKEND_GUILD_METRICS_PORT: '0', FABRIC_BACKEND_GUILD_METRICS_HOST: 'nowhere.invalid' },
      'FABRIC_BACKEND_GUILD_METRICS_HOST',
    ],
  ];
  for (const [entry, what, extra, name] of cases) {
    it(`${entry} exits non-zero with one line naming ${name} for ${what}`, async () => {
      const child = spawnNode(entry, { ...(await ownEnv()), ...extra });
      children.push(child);
      const code = await child.exited;
      const lines = child
        .stderr()
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes('registration with Center failed'));
      expect(code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(name);
    });
  }

  it(`${MAIN} exits non-zero with one line naming FABRIC_BACKEND_GUILD_PORT when the port is taken`, async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, r));
    try {
      const child = spawnNode(MAIN, { ...(await ownEnv()), FABRIC_BACKEND_GUILD_PORT: String((taken.address() as AddressInfo).port) });
      children.push(child);
      const code = await child.exited;
      const lines = child
        .stderr()
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes('registration with Center failed'));
      expect(code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('FABRIC_BACKEND_GUILD_PORT');
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });
});

describe.concurrent('processes that store files: FILE_DIR checked at startup', () => {
  let env: Record<string, string>;
  let badDir: string;
  beforeAll(async () => {
    env = await validEnv('http://127.0.0.1:9');
    // Its parent is a regular file, as with a wrong volume path: it cannot be created.
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'startup-file-dir-'));
    fs.writeFileSync(path.join(parent, 'plain-file'), 'x');
    badDir = path.join(parent, 'plain-file', 'files');
  });

  for (const [entry, extra] of [
    [MAIN, {}],
    ['scripts/api.ts', { FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: 'none' }],
  ] as const) {
    it(`${entry} exits non-zero with one line naming FABRIC_BACKEND_GUILD_FILE_DIR when it cannot be created`, async () => {
      const { code, lines } = await runToExit({ ...env, ...extra, FABRIC_BACKEND_GUILD_FILE_DIR: badDir }, entry);
      expect(code).not.toBe(0);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain('FABRIC_BACKEND_GUILD_FILE_DIR');
    });
  }

  // Node's recursive mkdir loops for ever there (mkdir answers ENOENT under an existing /proc).
  it(`${MAIN} exits non-zero at once naming FABRIC_BACKEND_GUILD_FILE_DIR under /proc`, { timeout: 10_000 }, async () => {
    const { code, lines } = await runToExit({ ...env, FABRIC_BACKEND_GUILD_FILE_DIR: '/proc/fabric-x/files' });
    expect(code).not.toBe(0);
    expect(lines).toEqual([expect.stringContaining('FABRIC_BACKEND_GUILD_FILE_DIR')]);
  });
});

/** A TCP server that accepts connections and never answers: a database host that hangs the handshake. */
async function silentHost() {
  const sockets = new Set<import('node:net').Socket>();
  const server = createNetServer((socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

describe.concurrent('a database that cannot be used at startup: one line naming the variables', () => {
  const PASSWORD = 'Hunter2-pw';
  /** One line naming `variable`, no password, no stack trace. */
  const expectOneLineNaming = ({ code, lines }: { code: number | string; lines: string[] }, variable: string) => {
    expect(code).not.toBe(0);
    expect(lines).toEqual([expect.stringContaining(variable)]);
    expect(lines[0]).not.toContain(PASSWORD);
  };
  const mysqlAt = async (port: number) => ({
    ...(await validEnv('http://127.0.0.1:9')),
    FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql',
    FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1',
    FABRIC_BACKEND_GUILD_DB_PORT: String(port),
    FABRIC_BACKEND_GUILD_DB_PASSWORD: PASSWORD,
  });

  for (const entry of [MAIN, 'scripts/migrate.ts', 'scripts/sweep.ts']) {
    it(`${entry}: a MySQL host that refuses names FABRIC_BACKEND_GUILD_DB_HOST`, async () => {
      expectOneLineNaming(await runToExit(await mysqlAt(await freePort()), entry), 'FABRIC_BACKEND_GUILD_DB_HOST');
    });
  }

  for (const [what, file] of [
    ['under /proc', '/proc/fabric-x/guild.sqlite'],
    ['under a plain file', path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'startup-db-file-')), 'guild.sqlite', 'x', 'guild.sqlite')],
  ]) {
    it(`a DB_FILE whose folder cannot be made (${what}) names FABRIC_BACKEND_GUILD_DB_FILE`, { timeout: 10_000 }, async () => {
      if (what === 'under a plain file') fs.writeFileSync(path.dirname(path.dirname(file)), 'x');
      const env = { ...(await validEnv('http://127.0.0.1:9')), FABRIC_BACKEND_GUILD_DB_TYPE: 'sqlite', FABRIC_BACKEND_GUILD_DB_FILE: file };
      expectOneLineNaming(await runToExit(env), 'FABRIC_BACKEND_GUILD_DB_FILE');
    });
  }

  it.runIf(TEST_DB === 'mysql')('an unknown database names FABRIC_BACKEND_GUILD_DB_NAME', async () => {
    const env = await validEnv('http://127.0.0.1:9', { FABRIC_BACKEND_GUILD_DB_NAME: 'fabric_no_such_database' });
    expectOneLineNaming(await runToExit(env), 'FABRIC_BACKEND_GUILD_DB_NAME');
  });

  it.runIf(TEST_DB === 'mysql')('access denied names FABRIC_BACKEND_GUILD_DB_USER / _DB_PASSWORD, without the password', async () => {
    const env = await validEnv('http://127.0.0.1:9', { FABRIC_BACKEND_GUILD_DB_USER: 'fabric_nobody', FABRIC_BACKEND_GUILD_DB_PASSWORD: PASSWORD });
    const result = await runToExit(env);
    expectOneLineNaming(result, 'FABRIC_BACKEND_GUILD_DB_USER / _DB_PASSWORD');
  });

  it('SIGTERM stops a node whose database does not answer within the shutdown timeout', { timeout: 10_000 }, async () => {
    const host = await silentHost();
    try {
      const child = run({ ...(await mysqlAt(host.port)), FABRIC_BACKEND_GUILD_LOG_LEVEL: 'debug', FABRIC_BACKEND_GUILD_SHUTDOWN_TIMEOUT_SECONDS: '0.3' });
      await child.waitForLog('"msg":"starting"');
      const signalled = Date.now();
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(1);
      // Not the pool's connect timeout (10 s).
      expect(Date.now() - signalled).toBeLessThan(2500);
      expect(child.stderr()).toContain('startup did not stop in time');
    } finally {
      await host.close();
    }
  });
});

describe('nodes started together on one fresh database', () => {
  it('both start: the second waits for the migration of the first', { timeout: 30_000 }, async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const env = { ...nodeEnv({ url: 'http://127.0.0.1:9' } as DevCenter, db), FABRIC_BACKEND_GUILD_LOG_LEVEL: 'debug' };
    // Both are held at their first migration step and let go together.
    const hold = await holdMigrations(db);
    const nodes = ['a', 'b'].map((id) => run({ ...env, FABRIC_BACKEND_GUILD_NODE_ID: `together-${id}` }));
    await Promise.all(nodes.map((n) => n.waitForLog('"msg":"starting"')));
    await sleep(500);
    await hold.release();
    await Promise.all(nodes.map((n) => n.waitForLog('guild node listening')));
  });
});

describe('scripts/main.ts with the Center emulator', () => {
  let center: DevCenter;
  beforeAll(async () => {
    center = await startCenter();
    centers.push(center);
  });

  const nodesAt = async (url: string) => {
    const res = await fetch(`${url}/api/dev/nodes`, { headers: { 'x-api-key': CENTER_KEY } });
    return ((await res.json()) as { nodes: { nodeId: string; baseUrl: string; version: string; heartbeats: number; lastHeartbeat: string }[] }).nodes;
  };

  it('registers with Center at startup and keeps heartbeating', async () => {
    const env = await validEnv(center.url, { FABRIC_BACKEND_GUILD_HEARTBEAT_SECONDS: '0.3', FABRIC_BACKEND_GUILD_PUBLIC_URL: 'http://guild.example.test:7002' });
    const child = run(env);
    const { port } = await child.waitForLog('guild node listening');
    const health = await apiClient(`http://127.0.0.1:${port}`)('GET', '/api/health');
    expect(health.status).toBe(200);
    const nodeId = env.FABRIC_BACKEND_GUILD_NODE_ID;

    const first = await waitFor('registration', async () => (await nodesAt(center.url)).find((n) => n.nodeId === nodeId));
    expect(first).toMatchObject({ baseUrl: 'http://guild.example.test:7002', version: health.body.version });
    // The heartbeat continues: the same registration is renewed again and again.
    const later = await waitFor('three more heartbeats', async () => (await nodesAt(center.url)).find((n) => n.nodeId === nodeId && n.heartbeats >= first.heartbeats + 3));
    expect(Date.parse(later.lastHeartbeat)).toBeGreaterThan(Date.parse(first.lastHeartbeat));
  });

  it('keeps serving when Center is down at startup, and registers once Center comes up', async () => {
    const centerPort = await freePort();
    const lateUrl = `http://127.0.0.1:${centerPort}`;
    const env = await validEnv(lateUrl);
    const child = run(env);
    const { port } = await child.waitForLog('guild node listening');
    const api = apiClient(`http://127.0.0.1:${port}`);

    expect((await api('GET', '/api/health')).status).toBe(200);
    expect((await api('GET', '/api/ready')).status).toBe(200);
    // A request that needs Center is answered 503, not dropped.
    const down = await api('GET', '/api/guilds', { token: 'some-token' });
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('center_unavailable');
    await child.waitForLog('registration with Center failed');

    const late = await startDevCenter({ port: centerPort, apiKey: CENTER_KEY, quiet: true });
    centers.push(late);
    await waitFor('registration after Center came up', async () => (await nodesAt(late.url)).find((n) => n.nodeId === env.FABRIC_BACKEND_GUILD_NODE_ID), 45_000);

    const owner = await centerClient(late).user('owner');
    const created = await api('POST', '/api/guilds', { token: owner.token, body: { name: 'After the outage' } });
    expect(created.status).toBe(201);
    expect(child.proc.exitCode).toBeNull();
  });
});
