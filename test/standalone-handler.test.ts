/**
 * Standalone handlers: after `npm run build`, one bundle from dist/handlers/ is imported on
 * its own by plain node — no router, no adapter, no tsx — and answers a web Request with
 * the right Response given only the environment. The proof that each endpoint can be
 * hosted alone. Also: the built entry points and CLIs load under plain node.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCenter } from '../scripts/dev-center.js';
import { centerClient, cleanEnv, createTestDatabase, nodeEnv, REPO_ROOT, startCenter, type TestDatabase, type TestUser } from './helpers/harness.js';

const run = promisify(execFile);
const DIST = path.join(REPO_ROOT, 'dist');
const HOST = path.join(REPO_ROOT, 'test/helpers/host-handler.mjs');
const NODE_ID = 'standalone-node';

interface HostedRequest {
  method: string;
  path: string;
  token?: string;
  body?: unknown;
}
interface HostedResponse {
  status: number;
  contentType: string;
  body: any;
}

let center: DevCenter;
let db: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: REPO_ROOT, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024 });
  center = await startCenter();
  db = await createTestDatabase();
  env = { ...nodeEnv(center, db), FABRIC_BACKEND_GUILD_NODE_ID: NODE_ID };
}, 180_000);
afterAll(async () => {
  await center?.close();
  await db?.drop();
});

/** Imports `bundle` (relative to dist/) alone in a fresh plain-node process and sends it `requests`, in order. */
async function host(bundle: string, requests: HostedRequest[]): Promise<HostedResponse[]> {
  const wire = requests.map((r) => ({
    method: r.method,
    url: `http://standalone.test${r.path}`,
    headers: { ...(r.token ? { authorization: `Bearer ${r.token}` } : {}), ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
  }));
  const { stdout } = await run(process.execPath, [HOST, path.join(DIST, bundle), JSON.stringify(wire)], { cwd: REPO_ROOT, env: cleanEnv(env) });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('a handler bundle hosted alone', () => {
  let owner: TestUser;

  beforeAll(async () => {
    owner = await centerClient(center).user('owner');
  });

  it('is one self-contained file: no route table, no Node adapter, none of our modules imported from elsewhere', () => {
    for (const bundle of ['handlers/health.js', 'handlers/guilds/create.js', 'handlers/guilds/get.js']) {
      const code = fs.readFileSync(path.join(DIST, bundle), 'utf8');
      expect(code, bundle).not.toMatch(/@whatwg-node\/server/);
      expect(code, bundle).not.toMatch(/from ["']\.{1,2}\//);
      expect(code, bundle).not.toMatch(/import\(["']\.{1,2}\//);
    }
    expect(fs.existsSync(path.join(DIST, 'handlers/routes.js'))).toBe(false);
  });

  it('GET /api/health: dist/handlers/health.js answers 200 {status, nodeId, version}', async () => {
    const [res] = await host('handlers/health.js', [{ method: 'GET', path: '/api/health' }]);
    expect(res.status).toBe(200);
    expect(res.contentType).toContain('application/json');
    expect(res.body).toEqual({ status: 'ok', nodeId: NODE_ID, version: expect.any(String) });
  });

  it('POST /api/guilds: dist/handlers/guilds/create.js introspects the token with Center and answers 201, 401, 403, 400', async () => {
    const guildToken = await centerClient(center).guildToken('some-guild');
    const [created, anonymous, badToken, asGuild, invalid] = await host('handlers/guilds/create.js', [
      { method: 'POST', path: '/api/guilds', token: owner.token, body: { name: 'Hosted alone', description: 'one bundle' } },
      { method: 'POST', path: '/api/guilds', body: { name: 'No token' } },
      { method: 'POST', path: '/api/guilds', token: 'not-a-token', body: { name: 'Bad token' } },
      { method: 'POST', path: '/api/guilds', token: guildToken, body: { name: 'As a guild' } },
      { method: 'POST', path: '/api/guilds', token: owner.token, body: { name: '' } },
    ]);
    expect(created.status).toBe(201);
    expect(created.body.guild).toMatchObject({ name: 'Hosted alone', description: 'one bundle', ownerId: owner.id, nodeId: NODE_ID });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe('unauthorized');
    expect(badToken.status).toBe(401);
    expect(badToken.body.error.code).toBe('unauthorized');
    expect(asGuild.status).toBe(403);
    expect(asGuild.body.error.code).toBe('forbidden');
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.code).toBe('bad_request');
  });

  it('GET /api/guilds/:guildId: another bundle in another process sees what the first one stored', async () => {
    const [created] = await host('handlers/guilds/create.js', [{ method: 'POST', path: '/api/guilds', token: owner.token, body: { name: 'Shared database' } }]);
    expect(created.status).toBe(201);
    const outsider = await centerClient(center).user('outsider');
    const id = created.body.guild.id as string;
    const [mine, theirs, none] = await host('handlers/guilds/get.js', [
      { method: 'GET', path: `/api/guilds/${id}`, token: owner.token },
      { method: 'GET', path: `/api/guilds/${id}`, token: outsider.token },
      { method: 'GET', path: `/api/guilds/${id}` },
    ]);
    expect(mine.status).toBe(200);
    expect(mine.body.guild).toEqual(created.body.guild);
    expect(theirs.status).toBe(404);
    expect(none.status).toBe(401);
  });
});

// Separate processes that exit by themselves: run them side by side.
describe.concurrent('built entry points and CLIs', () => {
  for (const [file, usage] of [
    ['main.js', /^Usage: npm start/],
    ['api.js', /^Usage: npm run start:api/],
    ['realtime.js', /^Usage: npm run start:realtime/],
    ['migrate.js', /^Usage: npm run migrate/],
    ['seed.js', /^Usage: npm run seed/],
    ['dev.js', /^Usage: npm run dev/],
    ['dev-center.js', /^Usage: npm run center:dev/],
    ['sweep.js', /^Usage: npm run sweep/],
    ['bench.js', /^Usage: npm run bench/],
  ] as const) {
    it(`dist/${file} loads under plain node and prints usage for --help`, async () => {
      const { stdout } = await run(process.execPath, [path.join(DIST, file), '--help'], { cwd: REPO_ROOT, env: cleanEnv() });
      expect(stdout).toMatch(usage);
    });
  }

  it('dist/migrate.js applies every migration to a fresh database, one line each, and is idempotent', async () => {
    const fresh = await createTestDatabase();
    try {
      const first = await run(process.execPath, [path.join(DIST, 'migrate.js')], { cwd: REPO_ROOT, env: cleanEnv(fresh.env) });
      const applied = first.stdout.split('\n').filter((l) => l.startsWith('applied '));
      expect(applied.length).toBeGreaterThan(0);
      const again = await run(process.execPath, [path.join(DIST, 'migrate.js')], { cwd: REPO_ROOT, env: cleanEnv(fresh.env) });
      expect(again.stdout).not.toContain('applied ');
      expect(again.stdout).toContain('up to date');
    } finally {
      await fresh.drop();
    }
  });

  it('dist/migrate.js exits 1 with one line when the database cannot be reached', async () => {
    const err = await run(process.execPath, [path.join(DIST, 'migrate.js')], {
      cwd: REPO_ROOT,
      env: cleanEnv({ FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql', FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1', FABRIC_BACKEND_GUILD_DB_PORT: '9' }),
    }).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(err?.code).toBe(1);
    expect(err!.stderr.trim().split('\n')).toHaveLength(1);
    expect(err!.stderr).toMatch(/^migrate: /);
  });
});
