/**
 * The Center client (lib/center/client.ts) against the Center emulator (scripts/dev-center.ts)
 * over real HTTP: caching, single-flight, failure → 503, batching, heartbeat (center.md).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCenterClient, type CenterClient, type CenterClientOptions } from '../lib/center/client.js';
import { HttpError } from '../lib/errors.js';
import { setLogLevel } from '../lib/logger.js';
import { startDevCenter, type DevCenter } from '../scripts/dev-center.js';

const apiKey = 'test-center-key';
let center: DevCenter;
const clients: CenterClient[] = [];
let seq = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${++seq}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function dev<T = any>(path: string, body?: unknown, key = apiKey): Promise<{ status: number; body: T }> {
  const res = await fetch(center.url + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-api-key': key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

type Stats = { introspect: number; resolve: number; lookup: number; register: number };
/** Snapshot of the emulator's call counters; `delta()` says how many calls happened since. */
async function counter() {
  const before = (await dev<Stats>('/api/dev/stats')).body;
  return {
    async delta(): Promise<Stats> {
      const now = (await dev<Stats>('/api/dev/stats')).body;
      return {
        introspect: now.introspect - before.introspect,
        resolve: now.resolve - before.resolve,
        lookup: now.lookup - before.lookup,
        register: now.register - before.register,
      };
    },
  };
}

async function newUser(displayName?: string, ttlSeconds?: number) {
  const { status, body } = await dev<{ id: string; name: string; token: string }>('/api/dev/users', {
    name: unique('user'),
    ...(displayName ? { displayName } : {}),
    ...(ttlSeconds ? { ttlSeconds } : {}),
  });
  expect(status).toBe(200);
  return body;
}

function client(overrides: Partial<CenterClientOptions> = {}) {
  const c = createCenterClient({
    baseUrl: center.url,
    apiKey,
    nodeId: unique('node'),
    publicUrl: 'http://localhost:7002',
    version: '0.1.0-test',
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function expect503(promise: Promise<unknown>) {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  expect((err as HttpError).status).toBe(503);
  expect((err as HttpError).code).toBe('center_unavailable');
}

async function closedPortUrl() {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return `http://127.0.0.1:${port}`;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await sleep(50);
  }
}

type NodeRow = { nodeId: string; baseUrl: string; version: string; lastHeartbeat: string; heartbeats: number };
const findNode = async (nodeId: string) => (await dev<{ nodes: NodeRow[] }>('/api/dev/nodes')).body.nodes.find((n) => n.nodeId === nodeId);

beforeAll(async () => {
  setLogLevel('silent');
  center = await startDevCenter({ port: 0, apiKey, quiet: true });
});
afterEach(async () => {
  clients.splice(0).forEach((c) => c.stop());
  await dev('/api/dev/fail', { mode: 'none' });
});
afterAll(async () => {
  await center.close();
  setLogLevel('info');
});

describe('introspect', () => {
  it('answers a user principal and a guild principal', async () => {
    const user = await newUser('Alice A.');
    const { body: guild } = await dev<{ token: string }>('/api/dev/guild-tokens', { guildId: 'g_1' });
    const c = client();
    expect(await c.introspect(user.token)).toEqual({ kind: 'user', userId: user.id, name: user.name, displayName: 'Alice A.' });
    expect(await c.introspect(guild.token)).toEqual({ kind: 'guild', guildId: 'g_1' });
  });

  it('shares one Center call among concurrent introspections of the same token', async () => {
    const user = await newUser();
    const c = client();
    const calls = await counter();
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.introspect(user.token)));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toMatchObject({ kind: 'user', userId: user.id });
    expect((await calls.delta()).introspect).toBe(1);
  });

  it('answers sequential introspections from the cache', async () => {
    const user = await newUser();
    const c = client();
    const calls = await counter();
    for (let i = 0; i < 10; i++) expect(await c.introspect(user.token)).toMatchObject({ userId: user.id });
    expect((await calls.delta()).introspect).toBe(1);
  });

  it('keeps a revoked token working until the cache TTL, then answers inactive', async () => {
    const user = await newUser();
    const c = client({ tokenCacheSeconds: 1 });
    expect(await c.introspect(user.token)).not.toBeNull();
    await dev('/api/dev/tokens/revoke', { token: user.token });
    expect(await c.introspect(user.token)).not.toBeNull();
    await sleep(1200);
    expect(await c.introspect(user.token)).toBeNull();
  });

  it('caches an inactive answer for 5 s', async () => {
    const c = client();
    const calls = await counter();
    expect(await c.introspect('not-a-token')).toBeNull();
    await sleep(200);
    expect(await c.introspect('not-a-token')).toBeNull();
    expect((await calls.delta()).introspect).toBe(1);
  });

  it('honours expiresAt when it comes before the cache TTL', async () => {
    const user = await newUser(undefined, 1);
    const c = client({ tokenCacheSeconds: 60 });
    const calls = await counter();
    expect(await c.introspect(user.token)).not.toBeNull();
    await sleep(1200);
    expect(await c.introspect(user.token)).toBeNull();
    expect((await calls.delta()).introspect).toBe(2);
  });

  it('answers 503 center_unavailable for uncached tokens while Center is down, and keeps cached ones working', async () => {
    const cached = await newUser();
    const uncached = await newUser();
    const c = client();
    await c.introspect(cached.token);
    for (const mode of ['down', '5xx'] as const) {
      await dev('/api/dev/fail', { mode });
      expect(await c.introspect(cached.token)).toMatchObject({ userId: cached.id });
      await expect503(c.introspect(uncached.token));
    }
    await dev('/api/dev/fail', { mode: 'none' });
    expect(await c.introspect(uncached.token)).toMatchObject({ userId: uncached.id });
  });

  it('shares one failing call among concurrent misses and does not cache the failure', async () => {
    const user = await newUser();
    const c = client();
    await dev('/api/dev/fail', { mode: '5xx' });
    const calls = await counter();
    const results = await Promise.allSettled(Array.from({ length: 5 }, () => c.introspect(user.token)));
    expect(results.every((r) => r.status === 'rejected' && (r.reason as HttpError).status === 503)).toBe(true);
    expect((await calls.delta()).introspect).toBe(1);
    await dev('/api/dev/fail', { mode: 'none' });
    expect(await c.introspect(user.token)).toMatchObject({ userId: user.id });
  });

  it('answers 503 when Center is not listening at all', async () => {
    const c = client({ baseUrl: await closedPortUrl() });
    await expect503(c.introspect('any-token'));
  });

  it('answers 503 when Center does not answer within timeoutMs', async () => {
    const user = await newUser();
    const c = client({ timeoutMs: 300 });
    await dev('/api/dev/fail', { mode: 'none', delayMs: 2500 });
    const started = Date.now();
    await expect503(c.introspect(user.token));
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('answers 503 to a redirect and sends neither the token nor the API key to where it points', async () => {
    const user = await newUser();
    const seen: string[] = [];
    const elsewhere = createServer((req, res) => {
      seen.push(String(req.headers['x-api-key']));
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active: true, kind: 'guild', guildId: 'g_elsewhere' })));
    });
    await new Promise<void>((r) => elsewhere.listen(0, '127.0.0.1', r));
    const redirecting = createServer((req, res) => {
      req.resume();
      res.writeHead(307, { location: `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}${req.url}` }).end();
    });
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', r));
    try {
      const c = client({ baseUrl: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}` });
      await expect503(c.introspect(user.token));
      expect(seen).toEqual([]);
    } finally {
      await Promise.all([elsewhere, redirecting].map((s) => new Promise((r) => s.close(r))));
    }
  });

  it('answers 503 when Center rejects the API key (misconfiguration)', async () => {
    const user = await newUser();
    const c = client({ apiKey: 'wrong-key' });
    await expect503(c.introspect(user.token));
  });
});

describe('resolveNames', () => {
  it('resolves known names in one batched call, leaves unknown ones out, and caches hits and misses', async () => {
    const a = await newUser('A');
    const b = await newUser();
    const unknown = unique('nobody');
    const c = client();
    const calls = await counter();
    const first = await c.resolveNames([a.name, b.name, unknown, a.name]);
    expect(first).toEqual(
      new Map([
        [a.name, { id: a.id, name: a.name, displayName: 'A' }],
        [b.name, { id: b.id, name: b.name }],
      ]),
    );
    expect((await calls.delta()).resolve).toBe(1);
    const again = await c.resolveNames([a.name, b.name, unknown]);
    expect(again).toEqual(first);
    expect((await calls.delta()).resolve).toBe(1);
  });

  it('shares one call among concurrent look-ups of the same names', async () => {
    const a = await newUser();
    const c = client();
    const calls = await counter();
    const results = await Promise.all(Array.from({ length: 5 }, () => c.resolveNames([a.name])));
    expect(results.every((m) => m.get(a.name)?.id === a.id)).toBe(true);
    expect((await calls.delta()).resolve).toBe(1);
  });

  it('answers 503 when Center is down and the names are not cached', async () => {
    const c = client();
    await dev('/api/dev/fail', { mode: 'down' });
    await expect503(c.resolveNames([unique('someone')]));
  });
});

describe('lookupIds', () => {
  it('looks up known ids in one batched call, leaves unknown ones out, and caches hits and misses', async () => {
    const a = await newUser();
    const b = await newUser('Bee');
    const c = client();
    const calls = await counter();
    const first = await c.lookupIds([a.id, b.id, 'u_unknown']);
    expect(first).toEqual(
      new Map([
        [a.id, { id: a.id, name: a.name }],
        [b.id, { id: b.id, name: b.name, displayName: 'Bee' }],
      ]),
    );
    expect((await calls.delta()).lookup).toBe(1);
    expect(await c.lookupIds([b.id, 'u_unknown', a.id])).toEqual(first);
    expect((await calls.delta()).lookup).toBe(1);
  });

  it('answers 503 when Center answers 5xx and the ids are not cached', async () => {
    const c = client();
    await dev('/api/dev/fail', { mode: '5xx' });
    await expect503(c.lookupIds(['u_whoever']));
  });
});

describe('heartbeat', () => {
  it('registers at once and then heartbeats every heartbeatMs', async () => {
    const nodeId = unique('node');
    const c = client({ nodeId, heartbeatMs: 200, publicUrl: 'http://node.test:7002', version: '9.9.9' });
    c.startHeartbeat();
    const first = await waitFor(() => findNode(nodeId), 2000);
    expect(first).toMatchObject({ baseUrl: 'http://node.test:7002', version: '9.9.9' });
    const later = await waitFor(async () => {
      const n = await findNode(nodeId);
      return n && n.heartbeats >= first.heartbeats + 2 ? n : undefined;
    }, 3000);
    expect(Date.parse(later.lastHeartbeat)).toBeGreaterThan(Date.parse(first.lastHeartbeat));
    c.stop();
    await sleep(300);
    const stopped = await findNode(nodeId);
    await sleep(500);
    expect((await findNode(nodeId))?.heartbeats).toBe(stopped?.heartbeats);
  });

  it('does not block or throw while Center is down, and registers once it comes back', async () => {
    await dev('/api/dev/fail', { mode: 'down' });
    const nodeId = unique('node');
    const c = client({ nodeId, heartbeatMs: 60_000 });
    expect(() => c.startHeartbeat()).not.toThrow();
    await sleep(300);
    expect(await findNode(nodeId)).toBeUndefined();
    await dev('/api/dev/fail', { mode: 'none' });
    const started = Date.now();
    await waitFor(() => findNode(nodeId), 4000);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('Center emulator', () => {
  it('answers 401 unauthorized to a wrong x-api-key', async () => {
    for (const path of ['/api/auth/introspect', '/api/dev/users']) {
      const res = await dev(path, { token: 'x', name: 'x' }, 'wrong-key');
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    }
  });

  it('answers 400 to malformed JSON and 409 to a taken name', async () => {
    const res = await fetch(center.url + '/api/auth/introspect', {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(res.status).toBe(400);
    const user = await newUser();
    expect((await dev('/api/dev/users', { name: user.name })).status).toBe(409);
  });

  it('issues more tokens for an existing user', async () => {
    const user = await newUser();
    const { body } = await dev<{ token: string }>(`/api/dev/users/${user.id}/tokens`, {});
    expect(body.token).not.toBe(user.token);
    expect(await client().introspect(body.token)).toMatchObject({ kind: 'user', userId: user.id });
  });
});
