/**
 * Authentication (api.md "Authentication", "Health"; center.md caching and failure rules)
 * against the real node and the Center emulator over HTTP; introspection calls are counted
 * by the emulator's /api/dev/stats.
 */
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { seedGuild, sleep, startTestNode, type TestNode } from './helpers/harness.js';
import { expectError } from './helpers/expect-error.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());
afterEach(async () => {
  await t.centerApi.fail('none');
});

/** Counts the introspection calls Center receives from now on. */
async function introspections(node: TestNode) {
  const before = (await node.centerApi.stats()).introspect;
  return async () => (await node.centerApi.stats()).introspect - before;
}

describe('GET /api/health and GET /api/ready', () => {
  it('answer without a token', async () => {
    const health = await t.api('GET', '/api/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', nodeId: 'test-node', version: expect.any(String) });
    expect(health.body.version.length).toBeGreaterThan(0);
    const ready = await t.api('GET', '/api/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });

  it('answer while Center is down, and never call it', async () => {
    const count = await introspections(t);
    await t.centerApi.fail('down');
    expect((await t.api('GET', '/api/health', { token: 'whatever' })).status).toBe(200);
    expect((await t.api('GET', '/api/ready')).status).toBe(200);
    expect(await count()).toBe(0);
  });
});

describe('with the database unreachable', () => {
  let down: TestNode;
  beforeAll(async () => {
    // A MySQL port nobody listens on; the pool connects lazily and DB_SYNC=false skips migrations, so the node starts.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    down = await startTestNode({
      env: { FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql', FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1', FABRIC_BACKEND_GUILD_DB_PORT: String(port), FABRIC_BACKEND_GUILD_DB_SYNC: 'false' },
    });
  });
  afterAll(async () => down?.close());

  it('GET /api/health still answers 200 and GET /api/ready answers 503 db_unavailable', async () => {
    expect((await down.api('GET', '/api/health')).status).toBe(200);
    expectError(await down.api('GET', '/api/ready'), 503, 'db_unavailable');
  });

  it('answers requests that need the database with 503 db_unavailable', async () => {
    const user = await down.centerApi.user();
    expectError(await down.api('GET', '/api/guilds', { token: user.token }), 503, 'db_unavailable');
    expectError(await down.api('POST', '/api/guilds', { token: user.token, body: { name: 'g' } }), 503, 'db_unavailable');
  });
});

describe('Bearer tokens', () => {
  it('returns 401 unauthorized without a token', async () => {
    expectError(await t.api('GET', '/api/guilds'), 401, 'unauthorized');
  });

  it('returns 401 unauthorized for a token Center does not know', async () => {
    expectError(await t.api('GET', '/api/guilds', { token: 'garbage-token' }), 401, 'unauthorized');
  });

  it('returns 401 unauthorized for an Authorization header that is not Bearer', async () => {
    const user = await t.centerApi.user();
    expectError(await t.api('GET', '/api/guilds', { headers: { authorization: `Basic ${user.token}` } }), 401, 'unauthorized');
    expectError(await t.api('GET', '/api/guilds', { headers: { authorization: 'Bearer' } }), 401, 'unauthorized');
    expectError(await t.api('GET', '/api/guilds', { headers: { authorization: user.token } }), 401, 'unauthorized');
  });

  it('does not accept ?access_token= on ordinary endpoints', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    expectError(await t.api('GET', `/api/guilds?access_token=${owner.token}`), 401, 'unauthorized');
    expectError(await t.api('GET', `/api/guilds/${guildId}?access_token=${owner.token}`), 401, 'unauthorized');
    expectError(await t.api('GET', `/api/channels?guildId=${guildId}&access_token=${owner.token}`), 401, 'unauthorized');
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: owner.token })).status).toBe(200);
  });

  it('accepts a user token as that user and a guild token for its guild', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const r = await t.api('POST', '/api/guilds', { token: owner.token, body: { name: 'Mine' } });
    expect(r.body.guild.ownerId).toBe(owner.id);
    const g = await t.api('GET', '/api/guilds', { token: await t.centerApi.guildToken(guildId) });
    expect(g.body.guilds.map((x: { id: string }) => x.id)).toEqual([guildId]);
  });

  it('stops accepting a token once its expiresAt has passed, even though answers are cached up to 60 s', async () => {
    const user = await t.centerApi.user();
    const token = await t.centerApi.token(user.id, 1);
    expect((await t.api('GET', '/api/guilds', { token })).status).toBe(200);
    await sleep(1300);
    expectError(await t.api('GET', '/api/guilds', { token }), 401, 'unauthorized');
  });
});

describe('introspection cache', () => {
  it('introspects a token once for many requests', async () => {
    const user = await t.centerApi.user();
    const count = await introspections(t);
    for (let i = 0; i < 5; i++) expect((await t.api('GET', '/api/guilds', { token: user.token })).status).toBe(200);
    expect(await count()).toBe(1);
  });

  it('caches an unknown token’s inactive answer too', async () => {
    const count = await introspections(t);
    for (let i = 0; i < 3; i++) expectError(await t.api('GET', '/api/guilds', { token: 'unknown-token-cached' }), 401, 'unauthorized');
    expect(await count()).toBe(1);
  });

  it('shares one introspection between concurrent first requests with the same token (single-flight)', async () => {
    const user = await t.centerApi.user();
    // Center answers slowly, so every request arrives while the first introspection is still open.
    await t.centerApi.fail('none', 300);
    const count = await introspections(t);
    const results = await Promise.all(Array.from({ length: 10 }, () => t.api('GET', '/api/guilds', { token: user.token })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await count()).toBe(1);
  });
});

describe('when Center is down', () => {
  it('answers 503 center_unavailable for uncached tokens while cached tokens keep working', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const fresh = await t.centerApi.user();
    expect((await t.api('GET', `/api/guilds/${guildId}`, { token: owner.token })).status).toBe(200);
    await t.centerApi.fail('down');
    expectError(await t.api('GET', '/api/guilds', { token: fresh.token }), 503, 'center_unavailable');
    expectError(await t.api('GET', '/api/guilds', { token: 'never-seen-token' }), 503, 'center_unavailable');
    const cached = await t.api('GET', `/api/guilds/${guildId}`, { token: owner.token });
    expect(cached.status).toBe(200);
    expect(cached.body.guild.id).toBe(guildId);
    expect((await t.api('PATCH', `/api/guilds/${guildId}`, { token: owner.token, body: { name: 'Still here' } })).status).toBe(200);
    await t.centerApi.fail('none');
    expect((await t.api('GET', '/api/guilds', { token: fresh.token })).status).toBe(200);
  });

  it('answers 503 center_unavailable when Center answers 5xx', async () => {
    const fresh = await t.centerApi.user();
    await t.centerApi.fail('5xx');
    expectError(await t.api('GET', '/api/guilds', { token: fresh.token }), 503, 'center_unavailable');
  });

  it('still answers 401 without a token (no call to Center needed)', async () => {
    await t.centerApi.fail('down');
    expectError(await t.api('GET', '/api/guilds'), 401, 'unauthorized');
  });
});

describe('with FABRIC_BACKEND_GUILD_TOKEN_CACHE_SECONDS=1', () => {
  let short: TestNode;
  beforeAll(async () => {
    short = await startTestNode({ env: { FABRIC_BACKEND_GUILD_TOKEN_CACHE_SECONDS: '1' } });
  });
  afterAll(async () => short?.close());

  it('stops accepting a revoked token once the cache entry expires', async () => {
    const { owner, guildId } = await seedGuild(short, 0);
    expect((await short.api('GET', `/api/guilds/${guildId}`, { token: owner.token })).status).toBe(200);
    await short.centerApi.revoke(owner.token);
    await sleep(1300);
    expectError(await short.api('GET', `/api/guilds/${guildId}`, { token: owner.token }), 401, 'unauthorized');
  });

  it('introspects again after the cache entry expires', async () => {
    const user = await short.centerApi.user();
    const count = await introspections(short);
    expect((await short.api('GET', '/api/guilds', { token: user.token })).status).toBe(200);
    await sleep(1300);
    expect((await short.api('GET', '/api/guilds', { token: user.token })).status).toBe(200);
    expect(await count()).toBe(2);
  });
});
