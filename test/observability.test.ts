/**
 * Logs and metrics of real split-mode processes (scripts/api.ts and scripts/realtime.ts):
 * JSON log lines with the request id of the REST request that caused them, on the API side and
 * on the realtime side of the hand-over; no token or secret in any line; `GET /metrics` on the
 * separate listener with the documented metrics (docs/operations.md), and no listener without
 * METRICS_PORT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCenter } from '../scripts/dev-center.js';
import {
  apiClient,
  centerClient,
  connectSocket,
  createTestDatabase,
  migrateTestDatabase,
  nextEvent,
  nodeEnv,
  spawnNode,
  startCenter,
  waitFor,
  type ChildRun,
  type TestDatabase,
} from './helpers/harness.js';

const SECRET = `obs-secret-${Math.random().toString(36).slice(2)}`;
let center: DevCenter;
let db: TestDatabase;
const children: ChildRun[] = [];
let api: { child: ChildRun; url: string; metricsUrl: string };
let realtime: { child: ChildRun; url: string; metricsUrl: string };

const env = (extra: Record<string, string>) => ({
  ...nodeEnv(center, db),
  FABRIC_BACKEND_GUILD_NODE_ID: `obs-${process.pid}`,
  FABRIC_BACKEND_GUILD_LOG_LEVEL: 'debug',
  FABRIC_BACKEND_GUILD_LOG_FORMAT: 'json',
  FABRIC_BACKEND_GUILD_INTERNAL_SECRET: SECRET,
  FABRIC_BACKEND_GUILD_DB_SYNC: 'false',
  FABRIC_BACKEND_GUILD_METRICS_PORT: '0',
  ...extra,
});

beforeAll(async () => {
  center = await startCenter();
  db = await createTestDatabase();
  await migrateTestDatabase(db);
  const rt = spawnNode('scripts/realtime.ts', env({ FABRIC_BACKEND_GUILD_REALTIME_PORT: '0', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0' }));
  children.push(rt);
  const [{ port, internalPort }, rtMetrics] = await Promise.all([rt.waitForLog('guild node realtime listening'), rt.waitForLog('metrics listening')]);
  realtime = { child: rt, url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${rtMetrics.port}/metrics` };
  const a = spawnNode('scripts/api.ts', env({ FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: `http://127.0.0.1:${internalPort}` }));
  children.push(a);
  const [listening, apiMetrics] = await Promise.all([a.waitForLog('guild node API listening'), a.waitForLog('metrics listening')]);
  api = { child: a, url: `http://127.0.0.1:${listening.port}`, metricsUrl: `http://127.0.0.1:${apiMetrics.port}/metrics` };
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map((c) => c.stop()));
  await center?.close();
  await db?.drop();
});

const jsonLines = (child: ChildRun) =>
  child
    .stderr()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const metricValue = (text: string, name: string, labels: Record<string, string> = {}) => {
  const line = text.split('\n').find((l) => l.startsWith(name) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('structured logs', () => {
  it('writes JSON lines; a request id links the REST request to the realtime hand-over it caused; no secret is logged', async () => {
    const users = centerClient(center);
    const owner = await users.user('owner');
    const http = apiClient(api.url);
    const g = await http('POST', '/api/guilds', { token: owner.token, body: { name: 'Logs' } });
    const c = await http('POST', '/api/channels', { token: owner.token, body: { guildId: g.body.guild.id, name: 'logs', xType: 'general' } });
    expect(c.status).toBe(201);
    const socket = await connectSocket(realtime.url, owner.token);
    try {
      await new Promise((resolve) => socket.emit('join_channel', { channelId: c.body.channel.id }, resolve));
      const requestId = `req-${Math.random().toString(36).slice(2)}`;
      const created = nextEvent(socket, 'message.created');
      const posted = await http('POST', `/api/channels/${c.body.channel.id}/messages`, {
        token: owner.token,
        body: { content: 'hello' },
        headers: { 'x-request-id': requestId },
      });
      expect(posted.status).toBe(201);
      expect(posted.headers.get('x-request-id')).toBe(requestId);
      await created;
      // A request without an id of its own gets a generated one.
      const other = await http('GET', `/api/channels/${c.body.channel.id}`, { token: owner.token });
      expect(other.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

      const rtLine = await waitFor('the realtime line of the hand-over', async () =>
        jsonLines(realtime.child).find((l) => l.msg === 'internal call applied' && l.requestId === requestId),
      );
      expect(rtLine).toMatchObject({ level: 'debug', ns: 'internal', path: '/internal/emit' });
      expect(typeof rtLine.time).toBe('string');
    } finally {
      socket.close();
    }
    const apiLines = jsonLines(api.child);
    expect(apiLines.some((l) => l.msg === 'guild node API listening (split mode)' && l.level === 'info')).toBe(true);
    for (const child of [api.child, realtime.child]) {
      const all = child.stderr();
      expect(all).not.toContain(owner.token);
      expect(all).not.toContain(SECRET);
      expect(all).not.toContain('test-center-key');
    }
  });

  it('redacts secret-named fields whatever a call site passes', async () => {
    const { PassThrough } = await import('node:stream');
    const pino = (await import('pino')).default;
    const { REDACTED_PATHS } = await import('../lib/logger.js');
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, out).info({ token: 't0k', headers: { authorization: 'Bearer x' }, user: { password: 'p' } }, 'm');
    expect(text).not.toMatch(/t0k|Bearer x|"p"/);
    expect(text).toContain('[redacted]');
  });
});

describe('metrics', () => {
  it('serves Prometheus text on the separate listener of each process, with per-route request metrics', async () => {
    const res = await fetch(api.metricsUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const route = { method: 'POST', route: '/api/channels/:channelId/messages', status: '201' };
    expect(metricValue(text, 'fabric_http_requests_total', route)).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fabric_http_request_duration_seconds_count', route)).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fabric_event_handover_queued_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fabric_event_handover_sent_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fabric_center_cache_lookups_total', { cache: 'token', result: 'miss' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fabric_center_call_duration_seconds_count', { path: '/api/auth/introspect', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    for (const name of ['fabric_post_batch_size', 'fabric_file_sweep_runs_total', 'fabric_process_cpu_seconds_total']) expect(text).toContain(name);
    if (db.env.FABRIC_BACKEND_GUILD_DB_TYPE === 'mysql') {
      // The post above went through the group commit, on the pool.
      expect(metricValue(text, 'fabric_post_batch_size_count')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'fabric_post_batch_wait_seconds_count')).toBeGreaterThanOrEqual(1);
      expect(metricValue(text, 'fabric_db_pool_connections_open')).toBeGreaterThanOrEqual(1);
      expect(text).toContain('fabric_db_pool_connections_in_use');
      expect(text).toContain('fabric_db_pool_waiting');
    }

    const rt = await (await fetch(realtime.metricsUrl)).text();
    expect(rt).toContain('fabric_realtime_sockets');
    expect(rt).toContain('fabric_realtime_rooms');
    expect(await fetch(api.metricsUrl.replace('/metrics', '/other')).then((r) => r.status)).toBe(404);
  });

  it('opens no metrics listener without METRICS_PORT', async () => {
    const child = spawnNode('scripts/api.ts', { ...env({}), FABRIC_BACKEND_GUILD_METRICS_PORT: '', FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: 'none' });
    children.push(child);
    await child.waitForLog('guild node API listening');
    expect(child.stderr()).not.toContain('metrics listening');
  });
});
