/**
 * Database faults are 503, never 500 (api.md `db_unavailable`): a private MariaDB started
 * here (own datadir, socket and port; never the shared server) is killed with SIGKILL under
 * posting load and started again. Meanwhile requests answer only 201/200 or 503; afterwards
 * the node recovers by itself, and clients that retried with clientMsgId lost nothing and
 * duplicated nothing. The writers post through an all-in-one node and through the API process
 * of a split pair on the same database; SDK clients and raw sockets connected to both
 * realtime sides get every event once and in order (realtime.md "Order and once").
 * Part of the MySQL pass only (vitest.config.ts): it needs mariadbd.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { startAllInOne, startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import { expectEverySubscriber, streamHead, wireFollower } from './helpers/delivery.js';
import { apiClient, CENTER_KEY, freePort, restFixture, sleep, startCenter, waitFor } from './helpers/harness.js';
import { closeClients, sdkSubscriber } from './helpers/sdk.js';
import { seedWorld } from './helpers/world.js';

describe('a MariaDB killed under load', () => {
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;
  let node: RunningProcess;
  /** A split pair on the same database: an API process handing over to a realtime process. */
  let splitApi: RunningProcess;
  let splitRealtime: RunningProcess & { internalPort: number };
  let center: Awaited<ReturnType<typeof startCenter>>;

  const startServer = async () => {
    server = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${dir}/data`,
        `--socket=${dir}/sock`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        '--skip-grant-tables',
        '--skip-log-bin',
        '--innodb-buffer-pool-size=32M',
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      'mariadbd',
      async () => {
        const c = await createConnection({ host: '127.0.0.1', port, user: 'root' }).catch(() => null);
        await c?.end();
        return c ? true : undefined;
      },
      60_000,
      200,
    );
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fabric-mariadb-'));
    port = await freePort();
    const install = spawnSync('mariadb-install-db', ['--no-defaults', `--datadir=${dir}/data`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
      encoding: 'utf8',
    });
    if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
    await startServer();
    const c = await createConnection({ host: '127.0.0.1', port, user: 'root' });
    await c.query('CREATE DATABASE fabric CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    await c.end();
    center = await startCenter();
    const config = loadConfig({
      FABRIC_BACKEND_GUILD_CENTER_BASE_URL: center.url,
      FABRIC_BACKEND_GUILD_CENTER_API_KEY: CENTER_KEY,
      FABRIC_BACKEND_GUILD_NODE_ID: 'db-faults',
      FABRIC_BACKEND_GUILD_PORT: '0',
      FABRIC_BACKEND_GUILD_LOG_LEVEL: 'silent',
      FABRIC_BACKEND_GUILD_FILE_DIR: path.join(dir, 'files'),
      FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1',
      FABRIC_BACKEND_GUILD_DB_PORT: String(port),
      FABRIC_BACKEND_GUILD_DB_NAME: 'fabric',
    });
    node = await startAllInOne(config, { heartbeat: false, jobs: false });
    const split = { ...config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: 'db-faults-secret' };
    splitRealtime = await startRealtimeProcess(split);
    splitApi = await startApiProcess({ ...split, port: 0, realtimeInternalUrl: `http://127.0.0.1:${splitRealtime.internalPort}` }, { heartbeat: false, jobs: false });
  }, 120_000);

  afterAll(async () => {
    closeClients();
    for (const p of [splitApi, splitRealtime, node]) await p?.close().catch(() => undefined);
    await center?.close();
    server?.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers only 201/200 or 503 db_unavailable while it is down, then recovers: no post lost or duplicated', async () => {
    const fixture = restFixture(node.url, center);
    const api = fixture.api;
    const w = await seedWorld(fixture);
    const writers = [w.m1, w.m2, w.m3];
    const ch = (
      await api('POST', '/api/channels', { token: w.owner.token, body: { guildId: w.guildId, name: 'faults', xType: 'general', memberUserIds: writers.map((u) => u.id) } })
    ).body.channel;
    const sdk = [await sdkSubscriber(node.url, w.owner), await sdkSubscriber(splitApi.url, w.m1, { realtimeUrl: splitRealtime.url })];
    const wire = [wireFollower(node.url, w.m2.token, ch.id), wireFollower(splitRealtime.url, w.m3.token, ch.id)];
    await Promise.all(wire.map((f) => f.joined));
    const apis = [api, apiClient(splitApi.url)];
    const statuses = new Map<number, number>();
    const codes = new Set<string>();
    let stored = 0;
    let restarted: Promise<void> | undefined;
    const perWriter = 25;
    await Promise.all(
      writers.map(async (wr, i) => {
        for (let k = 0; k < perWriter; k++) {
          for (;;) {
            const r = await apis[(i + k) % 2]('POST', `/api/channels/${ch.id}/messages`, { token: wr.token, body: { content: `w${i} ${k}`, clientMsgId: `${i}-${k}` } });
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status >= 500) codes.add(r.body?.error?.code);
            if (r.status === 201 || r.status === 200) break;
            await sleep(100);
          }
          if (++stored === 20 && !restarted) {
            server!.kill('SIGKILL');
            restarted = new Promise<void>((resolve) => server!.once('exit', () => resolve())).then(async () => {
              await sleep(1500);
              await startServer();
            });
          }
        }
      }),
    );
    await restarted;
    expect([...statuses.keys()].sort()).toEqual(expect.arrayContaining([201]));
    expect(
      [...statuses.keys()].filter((s) => ![200, 201, 503].includes(s)),
      JSON.stringify([...statuses]),
    ).toEqual([]);
    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    expect([...codes]).toEqual(['db_unavailable']);
    const listed = (await api('GET', `/api/channels/${ch.id}/messages?after=0&limit=100`, { token: w.owner.token })).body.messages as { seq: number; clientMsgId: string }[];
    expect(listed.map((m) => m.seq)).toEqual(Array.from({ length: writers.length * perWriter }, (_, i) => i + 1));
    expect(new Set(listed.map((m) => m.clientMsgId)).size).toBe(writers.length * perWriter);
    expect((await api('GET', '/api/ready')).status).toBe(200);
    const last = await streamHead(fixture, ch.id, w.owner.token);
    expect(last).toBe(writers.length * perWriter);
    try {
      await expectEverySubscriber(last, sdk, wire);
    } finally {
      for (const f of wire) f.socket.close();
    }
  });
});
