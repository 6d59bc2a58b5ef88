/**
 * Shutting a node down. close() finishes even while a client holds a response it never
 * reads (a download far larger than the socket buffers) and a socket.io client is connected.
 * A hang here shows as this test's timeout.
 */
import http from 'node:http';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDatabaseConfig } from '../lib/config.js';
import { openDatabase, pendingMigrations } from '../lib/db/index.js';
import { MIGRATION_NAMES } from '../lib/db/migrations/names.js';
import { listenFetch } from '../lib/server/node.js';
import { filePart } from './helpers/multipart.js';
import { apiClient, centerClient, holdMigrations, privateBackends, sleep, spawnNode, startTestNode, TEST_DB, waitFor, type ChildRun } from './helpers/harness.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';

describe('RunningProcess.close()', () => {
  it('finishes while a download response is left unread and a socket is connected', { timeout: 20_000 }, async () => {
    const t = await startTestNode();
    const user = await t.centerApi.user('closer');
    const { body, contentType } = filePart(new Uint8Array(16 * 1024 * 1024), 'big.bin', 'application/octet-stream');
    const up = await t.api('POST', '/api/files', { token: user.token, rawBody: body, headers: { 'content-type': contentType } });
    expect(up.status).toBe(201);
    await t.socket(user.token);
    // A client that reads the status line and headers, then never reads the body.
    const statusCode = await new Promise<number>((resolve, reject) => {
      http
        .get(`${t.url}/api/files/${up.body.file.id}`, { headers: { authorization: `Bearer ${user.token}` } }, (res) => {
          res.pause();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(statusCode).toBe(200);
    await t.close();
  });
});

describe('Listening.drain', () => {
  it('answers true at a deadline of 0 when the only connection left is an idle kept-alive one', async () => {
    const listening = await listenFetch(async () => new Response('ok'), 0, '127.0.0.1');
    const agent = new http.Agent({ keepAlive: true });
    try {
      const status = await new Promise<number>((resolve, reject) =>
        http.get(`http://127.0.0.1:${listening.port}/`, { agent }, (res) => (res.resume(), res.on('end', () => resolve(res.statusCode ?? 0)))).on('error', reject),
      );
      expect(status).toBe(200);
      expect(listening.openConnections).toBe(1);
      expect(await listening.drain(0)).toBe(true);
    } finally {
      agent.destroy();
      await listening.close();
    }
  });
});

/**
 * SIGTERM on a real process (scripts/main.ts, over real HTTP): what was received is answered,
 * nothing new is accepted, and the exit code says whether anything had to be cut off.
 * Center's emulator holds a request in flight: its `/api/dev/fail` delay slows the token
 * introspection of the request's first use of a token.
 */
describe('SIGTERM on a running node', () => {
  const children: ChildRun[] = [];
  const backends: Awaited<ReturnType<typeof privateBackends>>[] = [];
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()));
    await Promise.all(backends.map((b) => b.close()));
  });

  async function startChild(extra: Record<string, string> = {}, entry: 'main' | 'api' = 'main') {
    const b = await privateBackends();
    backends.push(b);
    const child = spawnNode(`scripts/${entry}.ts`, b.env({ FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info', ...extra }));
    children.push(child);
    const { port } = await child.waitForLog(entry === 'main' ? 'guild node listening' : 'guild node API listening');
    return { b, child, port: port as number, api: apiClient(`http://127.0.0.1:${port}`), centerApi: centerClient(b.center) };
  }

  /** Resolves with the error code of a new TCP connection to `port` once one is refused. */
  const refusedConnection = (port: number) =>
    waitFor(
      'a refused connection',
      () =>
        new Promise<string | undefined>((resolve) => {
          const s = connect(port, '127.0.0.1');
          s.once('connect', () => (s.destroy(), resolve(undefined)));
          s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
        }),
      2000,
      20,
    );

  it('answers the requests in flight, refuses new connections, answers readiness 503 and exits 0', { timeout: 30_000 }, async () => {
    const { child, port, api, centerApi } = await startChild();
    const owner = await centerApi.user('owner');
    const other = await centerApi.user('other');
    await centerApi.fail('none', 1200);
    const inFlight = api('POST', '/api/guilds', { token: owner.token, body: { name: 'accepted before SIGTERM' } }).then(
      (r) => ({ status: r.status }),
      (err: Error) => ({ error: String((err as { cause?: unknown }).cause ?? err) }),
    );
    // A keep-alive client: its answer says the connection closes.
    const agent = new http.Agent({ keepAlive: true });
    const keepAlive = new Promise<{ status: number; connection?: string }>((resolve, reject) => {
      const body = JSON.stringify({ name: 'keep-alive before SIGTERM' });
      http
        .request(
          `http://127.0.0.1:${port}/api/guilds`,
          { method: 'POST', agent, headers: { authorization: `Bearer ${other.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
          },
        )
        .on('error', reject)
        .end(body);
    });
    // A request whose head is still arriving when the signal comes: served, as not ready.
    const probe = connect(port, '127.0.0.1');
    await new Promise((resolve) => probe.once('connect', resolve));
    probe.write('GET /api/ready HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let probeAnswer = '';
    const probeClosed = new Promise<void>((resolve) => {
      probe.setEncoding('utf8').on('data', (d: string) => (probeAnswer += d));
      probe.on('close', () => resolve());
    });
    await sleep(300);
    child.proc.kill('SIGTERM');
    expect(await refusedConnection(port)).toBe('ECONNREFUSED');
    probe.end('\r\n');
    await probeClosed;
    expect(probeAnswer).toMatch(/^HTTP\/1.1 503 /);
    expect(probeAnswer.toLowerCase()).toContain('connection: close');
    expect(probeAnswer).toContain('{"status":"stopping"}');
    expect(await inFlight).toEqual({ status: 201 });
    expect(await keepAlive).toEqual({ status: 201, connection: 'close' });
    agent.destroy();
    expect(await child.exited).toBe(0);
    expect(child.stderr()).toContain('shutting down');
  });

  it('answers a request in flight on an API process (split mode) and exits 0', { timeout: 30_000 }, async () => {
    const { child, api, centerApi } = await startChild({ FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: 'none' }, 'api');
    const owner = await centerApi.user('owner');
    await centerApi.fail('none', 1200);
    const inFlight = api('POST', '/api/guilds', { token: owner.token, body: { name: 'accepted before SIGTERM' } }).then(
      (r) => ({ status: r.status }),
      (err: Error) => ({ error: String((err as { cause?: unknown }).cause ?? err) }),
    );
    await sleep(300);
    child.proc.kill('SIGTERM');
    expect(await inFlight).toEqual({ status: 201 });
    expect(await child.exited).toBe(0);
  });

  it('exits 0 with SHUTDOWN_TIMEOUT_SECONDS=0 when no request is in flight, an idle kept-alive connection open', { timeout: 30_000 }, async () => {
    const { child, api, centerApi } = await startChild({ FABRIC_BACKEND_GUILD_SHUTDOWN_TIMEOUT_SECONDS: '0' });
    const user = await centerApi.user('idle');
    // Answered in full; fetch keeps its connection open for the next request.
    expect((await api('GET', '/api/guilds', { token: user.token })).status).toBe(200);
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(child.stderr()).not.toContain('cut off');
  });

  it('cuts off a request still running at the shutdown deadline and exits 1', { timeout: 30_000 }, async () => {
    const { child, api, centerApi } = await startChild({ FABRIC_BACKEND_GUILD_SHUTDOWN_TIMEOUT_SECONDS: '0.4' });
    const owner = await centerApi.user('owner');
    await centerApi.fail('none', 1800);
    const inFlight = api('POST', '/api/guilds', { token: owner.token, body: { name: 'too slow' } }).then(
      (r) => ({ status: r.status }),
      () => ({ cutOff: true }),
    );
    await sleep(200);
    const signalled = Date.now();
    child.proc.kill('SIGTERM');
    expect(await child.exited).toBe(1);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(400);
    expect(await inFlight).toEqual({ cutOff: true }); // not answered: the process did not wait for it
    expect(child.stderr()).toContain('cut off');
  });

  it('stops the startup migration once the migration in progress has finished, exits 0, and the next start continues', { timeout: 30_000 }, async () => {
    const b = await privateBackends();
    backends.push(b);
    const hold = await holdMigrations(b.db);
    const child = spawnNode('scripts/main.ts', b.env({ FABRIC_BACKEND_GUILD_LOG_LEVEL: 'debug' }));
    children.push(child);
    await child.waitForLog('"msg":"starting"');
    await sleep(300); // at the held first migration
    child.proc.kill('SIGTERM');
    await child.waitForLog('stop requested while starting');
    await hold.release();
    expect(await child.exited).toBe(0);
    expect(child.stderr()).toContain('stopped during the startup migration');
    const handle = await openDatabase(loadDatabaseConfig(b.db.env));
    try {
      const pending = await pendingMigrations(handle.db);
      expect(pending.length).toBeGreaterThan(0);
      expect(pending).toEqual(MIGRATION_NAMES.slice(MIGRATION_NAMES.length - pending.length));
      const again = spawnNode('scripts/main.ts', b.env({ FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info' }));
      children.push(again);
      await again.waitForLog('guild node listening');
      expect(await pendingMigrations(handle.db)).toEqual([]);
    } finally {
      await handle.destroy();
    }
  });

  it.runIf(TEST_DB === 'mysql')('does not wait past its deadline for a database that went silent under a request (MySQL)', { timeout: 30_000 }, async () => {
    const b = await privateBackends();
    backends.push(b);
    const proxy = await startTcpProxy({ host: b.db.env.FABRIC_BACKEND_GUILD_DB_HOST, port: Number(b.db.env.FABRIC_BACKEND_GUILD_DB_PORT) });
    const env = { FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1', FABRIC_BACKEND_GUILD_DB_PORT: String(proxy.port), FABRIC_BACKEND_GUILD_SHUTDOWN_TIMEOUT_SECONDS: '0.3' };
    const child = spawnNode('scripts/main.ts', b.env({ FABRIC_BACKEND_GUILD_LOG_LEVEL: 'info', ...env }));
    children.push(child);
    try {
      const { port } = await child.waitForLog('guild node listening');
      const api = apiClient(`http://127.0.0.1:${port}`);
      const user = await centerClient(b.center).user('silent');
      expect((await api('GET', '/api/guilds', { token: user.token })).status).toBe(200);
      proxy.freeze();
      // Its query waits for an answer that never comes.
      const inFlight = api('GET', '/api/guilds', { token: user.token }).catch(() => 'cut off');
      await sleep(200);
      const signalled = Date.now();
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(1);
      expect(await inFlight).toBe('cut off');
      // The close gives up on the database after 1 s: not the 5 s more the shutdown allows.
      expect(Date.now() - signalled).toBeLessThan(3500);
      expect(child.stderr()).toContain('did not answer the close in time');
      expect(child.stderr()).not.toContain('shutdown did not finish in time');
    } finally {
      await proxy.close();
    }
  });

  it('refuses an invalid shutdown timeout with one line naming the variable', { timeout: 30_000 }, async () => {
    const b = await privateBackends();
    backends.push(b);
    const child = spawnNode('scripts/main.ts', b.env({ FABRIC_BACKEND_GUILD_SHUTDOWN_TIMEOUT_SECONDS: 'soon' }));
    children.push(child);
    expect(await child.exited).toBe(1);
    expect(child.stderr().trim().split('\n')).toEqual([expect.stringContaining('FABRIC_BACKEND_GUILD_SHUTDOWN_TIMEOUT_SECONDS')]);
  });
});
