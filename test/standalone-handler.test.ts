/**
 * Standalone handlers: after `npm run build`, one bundle from dist/handlers/ is imported on
 * its own by plain node — no router, no adapter, no tsx — and answers a web Request with
 * the right Response given only the environment. The proof that each endpoint can be
 * hosted alone. Also: the built entry points and CLIs load under plain node.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../lib/config.js';
import type { DevCenter } from '../scripts/dev-center.js';
import { startRealtimeProcess } from '../scripts/processes.js';
import { handlerBundles, modulesLoaded, staticClosure, staticSize } from './helpers/bundles.js';
import { BUN, CENTER_KEY, centerClient, cleanEnv, createTestDatabase, nodeEnv, REPO_ROOT, startCenter, waitFor, type TestDatabase, type TestUser } from './helpers/harness.js';

const run = promisify(execFile);
const DIST = path.join(REPO_ROOT, 'dist');
const HOST = path.join(REPO_ROOT, 'test/helpers/host-handler.mjs');
const NODE_ID = 'standalone-node';

interface HostedRequest {
  method: string;
  path: string;
  token?: string;
  body?: unknown;
  /** A body sent as this text, with `headers` (no JSON content type added). */
  rawBody?: string;
  headers?: Record<string, string>;
}
interface HostedResponse {
  status: number;
  contentType: string;
  /** Names in lower case. */
  headers: Record<string, string>;
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
  // The deploy step: a bundle does not migrate unless DB_SYNC=true.
  await run(process.execPath, [path.join(DIST, 'migrate.js')], { cwd: REPO_ROOT, env: cleanEnv(env) });
}, 180_000);
afterAll(async () => {
  await center?.close();
  await db?.drop();
});

interface HostOptions {
  /** How the host waits before it exits (test/helpers/host-handler.mjs). */
  mode?: 'exit' | 'waitUntil' | 'settled';
  runtime?: 'node' | 'bun';
  env?: Record<string, string>;
}

/** Imports `bundle` (relative to dist/) alone in a fresh process (plain node by default) and sends it `requests`, in order. */
async function hostRun(
  bundle: string,
  requests: HostedRequest[],
  opts: HostOptions = {},
): Promise<{ responses: HostedResponse[]; waitedAt: number; handedToWaitUntil: number; stderr: string }> {
  const wire = requests.map((r) => ({
    method: r.method,
    url: `http://standalone.test${r.path}`,
    headers: { ...(r.token ? { authorization: `Bearer ${r.token}` } : {}), ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
    body: r.rawBody ?? (r.body === undefined ? undefined : JSON.stringify(r.body)),
  }));
  const command = opts.runtime === 'bun' ? BUN : process.execPath;
  const { stdout, stderr } = await run(command, [HOST, path.join(DIST, bundle), JSON.stringify(wire), opts.mode ?? 'exit'], { cwd: REPO_ROOT, env: cleanEnv(opts.env ?? env) });
  return { ...JSON.parse(stdout.trim().split('\n').pop()!), stderr };
}

const host = async (bundle: string, requests: HostedRequest[], opts: HostOptions = {}) => (await hostRun(bundle, requests, opts)).responses;

describe('a handler bundle hosted alone', () => {
  let owner: TestUser;

  beforeAll(async () => {
    owner = await centerClient(center).user('owner');
  });

  it('loads only files of dist/ and no route table or Node adapter; health loads no migrations, MySQL engine, HTTP emitter, input reader or access rules', () => {
    for (const bundle of handlerBundles(DIST)) {
      for (const file of staticClosure(path.join(DIST, bundle))) {
        expect(file.startsWith(DIST + path.sep), `${bundle} loads ${file}`).toBe(true);
        const code = fs.readFileSync(file, 'utf8');
        expect(code, bundle).not.toMatch(/@whatwg-node\/server/);
      }
    }
    const health = modulesLoaded(path.join(DIST, 'handlers/health.js'));
    expect(health).toContain('handlers/health.ts');
    const notInHealth = [
      ...['lib/db/migrations/index.ts', 'lib/db/mysql.ts', 'lib/db/mysql-post-batches.ts', 'lib/realtime/http-emitter.ts', 'lib/realtime/presence.ts', 'lib/server/router.ts'],
      // The declaration layer's input reader loads with an endpoint that has input; health declares the open policy only.
      ...['lib/http/handler-input.ts', 'lib/http/body.ts', 'lib/realtime/internal-schemas.ts', 'lib/guilds/standing.ts', 'lib/channels/channel-access-policies.ts'],
    ];
    for (const lazy of notInHealth) expect(health, lazy).not.toContain(lazy);
    // What every bundle carries: the pipeline, the declaration layer, the context, the migration
    // names (one more line per migration), the config rules. 45,115 bytes on 2026-12-06,
    // 49,354 on 2026-12-07 (REDIS_URL and CORS_ORIGINS checked as they are read, a metric).
    expect(staticSize(path.join(DIST, 'handlers/health.js'))).toBeLessThan(52 * 1024);
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

  it('answers what is not its own like the router: 405 with Allow for another method, 404 for another path, and changes nothing', async () => {
    const member = await centerClient(center).user('member');
    const [created] = await host('handlers/guilds/create.js', [{ method: 'POST', path: '/api/guilds', token: owner.token, body: { name: 'Kept' } }]);
    const guildId = created.body.guild.id as string;
    const membersPath = `/api/guilds/${guildId}/members`;
    const [added] = await host('handlers/guilds/members-add.js', [{ method: 'POST', path: membersPath, token: owner.token, body: { userIds: [member.id] } }]);
    expect(added.status).toBe(200);
    const [wrongMethod, otherPath, preflight] = await host('handlers/guilds/members-remove.js', [
      { method: 'GET', path: `${membersPath}/${member.id}`, token: owner.token },
      { method: 'DELETE', path: `/api/channels/c1/members/${member.id}`, token: owner.token },
      { method: 'OPTIONS', path: `${membersPath}/${member.id}` },
    ]);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body.error).toMatchObject({ code: 'method_not_allowed', requestId: expect.any(String) });
    expect(otherPath.status).toBe(404);
    expect(otherPath.body.error.code).toBe('not_found');
    expect(preflight.status).toBe(204);
    const [put] = await host('handlers/guilds/create.js', [{ method: 'PUT', path: '/api/guilds', token: owner.token, body: { name: 'Not created' } }]);
    expect(put.status).toBe(405);
    const [members] = await host('handlers/guilds/members-list.js', [{ method: 'GET', path: membersPath, token: owner.token }]);
    expect(members.body.members.map((m: { userId: string }) => m.userId)).toContain(member.id);
    const [guilds] = await host('handlers/guilds/list.js', [{ method: 'GET', path: '/api/guilds', token: owner.token }]);
    expect(guilds.body.guilds.map((g: { name: string }) => g.name)).not.toContain('Not created');
  });
});

describe('a handler bundle hosted alone, with bodies it cannot read', () => {
  it('answers like the router: 415 for a Content-Encoding or a charset other than UTF-8, and creates nothing; a "__proto__" key is an unknown field, ignored', async () => {
    const owner = await centerClient(center).user('owner');
    const json = { 'content-type': 'application/json' };
    const [gzip, latin1, proto] = await host('handlers/guilds/create.js', [
      { method: 'POST', path: '/api/guilds', token: owner.token, rawBody: '{"name":"labelled gzip"}', headers: { ...json, 'content-encoding': 'gzip' } },
      { method: 'POST', path: '/api/guilds', token: owner.token, rawBody: '{"name":"labelled latin1"}', headers: { 'content-type': 'application/json; charset=latin1' } },
      { method: 'POST', path: '/api/guilds', token: owner.token, rawBody: '{"name":"proto","__proto__":{"ownerId":"x"}}', headers: json },
    ]);
    for (const refused of [gzip, latin1]) expect(refused).toMatchObject({ status: 415, body: { error: { code: 'unsupported_media_type', requestId: expect.any(String) } } });
    expect(proto).toMatchObject({ status: 201, body: { guild: { name: 'proto', ownerId: owner.id } } });
    const [list] = await host('handlers/guilds/list.js', [{ method: 'GET', path: '/api/guilds', token: owner.token }]);
    expect(list.body.guilds.map((g: { name: string }) => g.name)).toEqual(['proto']);
  });
});

describe('the hosting contract of a bundle', () => {
  it('does not migrate by default: on an empty database it answers 503 db_unavailable saying the schema is behind, and serves once migrated', async () => {
    const fresh = await createTestDatabase();
    try {
      const freshEnv = { ...nodeEnv(center, fresh), FABRIC_BACKEND_GUILD_NODE_ID: NODE_ID };
      const owner = await centerClient(center).user('early');
      const [behind] = await host('handlers/guilds/list.js', [{ method: 'GET', path: '/api/guilds', token: owner.token }], { env: freshEnv });
      expect(behind.status).toBe(503);
      expect(behind.body.error.code).toBe('db_unavailable');
      expect(behind.body.error.message).toMatch(/schema is behind.*npm run migrate/);
      // Liveness needs no database (api.md: /api/health is 200): the health bundle opens none.
      const [alive] = await host('handlers/health.js', [{ method: 'GET', path: '/api/health' }], { env: freshEnv });
      expect(alive).toMatchObject({ status: 200, body: { status: 'ok', nodeId: NODE_ID } });
      await run(process.execPath, [path.join(DIST, 'migrate.js')], { cwd: REPO_ROOT, env: cleanEnv(freshEnv) });
      const [served] = await host('handlers/guilds/list.js', [{ method: 'GET', path: '/api/guilds', token: owner.token }], { env: freshEnv });
      expect(served.status).toBe(200);
      expect(served.body).toEqual({ guilds: [] });
    } finally {
      await fresh.drop();
    }
  });

  it('migrates on first use when the host sets DB_SYNC=true', async () => {
    const fresh = await createTestDatabase();
    try {
      const freshEnv = { ...nodeEnv(center, fresh), FABRIC_BACKEND_GUILD_NODE_ID: NODE_ID, FABRIC_BACKEND_GUILD_DB_SYNC: 'true' };
      const owner = await centerClient(center).user('synced');
      const [created] = await host('handlers/guilds/create.js', [{ method: 'POST', path: '/api/guilds', token: owner.token, body: { name: 'Synced' } }], { env: freshEnv });
      expect(created.status).toBe(201);
    } finally {
      await fresh.drop();
    }
  });

  describe('background work: the event hand-over', () => {
    /** A stand-in realtime process: records internal calls and answers each only after a pause. */
    let recorder: Server;
    let calls: { path: string; body: any; answeredAt: number }[];
    let recorderUrl: string;

    beforeAll(async () => {
      recorder = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (d: string) => (body += d));
        req.on('end', () =>
          setTimeout(() => {
            calls.push({ path: req.url ?? '', body: JSON.parse(body), answeredAt: Date.now() });
            res.writeHead(202).end();
          }, 300),
        );
      });
      await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
      recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => recorder.close(() => resolve())));

    for (const [runtime, mode] of [
      ['node', 'waitUntil'],
      ['node', 'settled'],
      ['bun', 'waitUntil'],
      ['bun', 'settled'],
    ] as const) {
      it(`a host under ${runtime} that awaits ${mode === 'waitUntil' ? 'what it got through waitUntil' : 'settled()'} sees the event delivered before it exits`, async () => {
        calls = [];
        const splitEnv = { ...env, FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL: recorderUrl, FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'hosting-secret' };
        const users = centerClient(center);
        const owner = await users.user('hand-over-owner');
        const member = await users.user('hand-over-member');
        const [guild] = await host('handlers/guilds/create.js', [{ method: 'POST', path: '/api/guilds', token: owner.token, body: { name: 'Hand-over' } }]);
        expect(guild.status).toBe(201);
        const hosted = await hostRun(
          'handlers/guilds/members-add.js',
          [{ method: 'POST', path: `/api/guilds/${guild.body.guild.id}/members`, token: owner.token, body: { userIds: [member.id] } }],
          { mode, runtime, env: splitEnv },
        );
        expect(hosted.responses[0].status).toBe(200);
        if (mode === 'waitUntil') expect(hosted.handedToWaitUntil).toBe(1);
        const delivered = calls.find((c) => JSON.stringify(c.body).includes(member.id));
        expect(delivered, JSON.stringify(calls)).toBeDefined();
        expect(JSON.stringify(delivered!.body)).toContain(guild.body.guild.id);
        // The host was done waiting only once the realtime process had answered.
        expect(hosted.waitedAt).toBeGreaterThanOrEqual(delivered!.answeredAt);
      });
    }
  });

  it('answers GET /api/health with 200 while the database is unreachable', async () => {
    const away = { ...env, FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql', FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1', FABRIC_BACKEND_GUILD_DB_PORT: '9' };
    const [res] = await host('handlers/health.js', [{ method: 'GET', path: '/api/health' }], { env: away });
    expect(res).toMatchObject({ status: 200, body: { status: 'ok', nodeId: NODE_ID } });
  });

  it('while the database is unreachable, answers what needs none as the router does: a preflight 204, a foreign path 404, and its 503 with CORS', async () => {
    const origin = 'https://app.example';
    const away = {
      ...env,
      FABRIC_BACKEND_GUILD_CORS_ORIGINS: origin,
      FABRIC_BACKEND_GUILD_DB_TYPE: 'mysql',
      FABRIC_BACKEND_GUILD_DB_HOST: '127.0.0.1',
      FABRIC_BACKEND_GUILD_DB_PORT: '9',
    };
    const owner = await centerClient(center).user('away');
    const headers = { origin };
    const [preflight, foreign, wrongMethod, down] = await host(
      'handlers/guilds/list.js',
      [
        { method: 'OPTIONS', path: '/api/guilds', headers: { ...headers, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } },
        { method: 'GET', path: '/api/nowhere', token: owner.token, headers },
        { method: 'DELETE', path: '/api/guilds', token: owner.token, headers },
        { method: 'GET', path: '/api/guilds', token: owner.token, headers },
      ],
      { env: away },
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({ 'access-control-allow-origin': origin, 'access-control-allow-methods': expect.stringContaining('GET') });
    expect(foreign).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(wrongMethod).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD, POST, OPTIONS' }, body: { error: { code: 'method_not_allowed' } } });
    expect(down).toMatchObject({ status: 503, body: { error: { code: 'db_unavailable' } } });
    for (const res of [foreign, wrongMethod, down]) expect(res.headers['access-control-allow-origin']).toBe(origin);
  });

  const registered = async () =>
    ((await (await fetch(`${center.url}/api/dev/nodes`, { headers: { 'x-api-key': CENTER_KEY } })).json()) as { nodes: { nodeId: string; baseUrl: string }[] }).nodes;

  it('started without a required variable: answers 500 internal with the request id, and logs one line naming the variable, no stack', async () => {
    const { FABRIC_BACKEND_GUILD_CENTER_API_KEY: _key, ...missing } = env;
    for (const runtime of ['node', 'bun'] as const) {
      const { responses, stderr } = await hostRun('handlers/guilds/list.js', [{ method: 'GET', path: '/api/guilds', token: 'any' }], { env: missing, runtime });
      expect(responses[0]).toMatchObject({ status: 500, body: { error: { code: 'internal', requestId: expect.any(String) } } });
      expect(JSON.stringify(responses[0].body)).not.toContain('CENTER_API_KEY');
      const lines = stderr.trim().split('\n');
      expect(lines, runtime).toHaveLength(1);
      expect(lines[0]).toContain('FABRIC_BACKEND_GUILD_CENTER_API_KEY is required');
      expect(lines[0]).toContain(responses[0].body.error.requestId);
      expect(lines[0], 'no stack').not.toMatch(/\bat .*:\d+:\d+/);
    }
  });

  it('with a FILE_DIR it cannot write: an upload answers 500 internal, and one log line names FILE_DIR and its path, no stack', async () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'file-dir-'));
    onTestFinished(() => fs.rmSync(scratch, { recursive: true, force: true }));
    // A FILE_DIR under a regular file (a wrong volume path) can be neither created nor written.
    const blocker = path.join(scratch, 'a-file');
    fs.writeFileSync(blocker, '');
    const owner = await centerClient(center).user('uploader');
    const body = '--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n';
    const upload = { method: 'POST', path: '/api/files', token: owner.token, rawBody: body, headers: { 'content-type': 'multipart/form-data; boundary=x' } };
    const { responses, stderr } = await hostRun('handlers/files/upload.js', [upload], { env: { ...env, FABRIC_BACKEND_GUILD_FILE_DIR: path.join(blocker, 'files') } });
    expect(responses[0]).toMatchObject({ status: 500, body: { error: { code: 'internal' } } });
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`FABRIC_BACKEND_GUILD_FILE_DIR (${path.join(blocker, 'files')})`);
    expect(lines[0], 'no stack').not.toMatch(/\bat .*:\d+:\d+/);
  });

  it('runs no timers: a bundle never registers with Center (no heartbeat)', async () => {
    const [res] = await host('handlers/ready.js', [{ method: 'GET', path: '/api/ready' }], { env: { ...env, FABRIC_BACKEND_GUILD_NODE_ID: 'never-registers' } });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await registered())).not.toContain('never-registers');
  });

  it('the realtime process the bundles hand their events to registers the node with Center when PUBLIC_URL names the API, and only then', async () => {
    const realtimeEnv = {
      ...env,
      FABRIC_BACKEND_GUILD_INTERNAL_SECRET: 'register-secret',
      FABRIC_BACKEND_GUILD_REALTIME_PORT: '0',
      FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_PORT: '0',
    };
    const named = await startRealtimeProcess(loadConfig({ ...realtimeEnv, FABRIC_BACKEND_GUILD_NODE_ID: 'bundles-node', FABRIC_BACKEND_GUILD_PUBLIC_URL: 'https://api.example' }));
    const unnamed = await startRealtimeProcess(loadConfig({ ...realtimeEnv, FABRIC_BACKEND_GUILD_NODE_ID: 'unnamed-node' }));
    try {
      const node = await waitFor('the registration', async () => (await registered()).find((n) => n.nodeId === 'bundles-node'), 10_000);
      expect(node.baseUrl).toBe('https://api.example');
      expect((await registered()).map((n) => n.nodeId)).not.toContain('unnamed-node');
    } finally {
      await Promise.all([named.close(), unnamed.close()]);
    }
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

describe('the client SDK and event map as built (package exports ./client and ./events)', () => {
  it('load by package name under plain node, with their .d.ts, importing nothing but socket.io-client', async () => {
    const script = [
      "const c = await import('fabric-guild-node/client');",
      "const e = await import('fabric-guild-node/events');",
      'console.log(JSON.stringify({ client: typeof c.FabricClient, rest: typeof c.FabricRest, streams: e.CHANNEL_STREAM_EVENTS }));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, env: cleanEnv() });
    expect(JSON.parse(stdout.trim())).toMatchObject({ client: 'function', rest: 'function', streams: expect.arrayContaining(['message.created', 'turn.updated']) });

    const bundle = fs.readFileSync(path.join(DIST, 'client/index.js'), 'utf8');
    expect([...bundle.matchAll(/^import .* from "([^"]+)"/gm)].map((m) => m[1])).toEqual(['socket.io-client']);
    expect(fs.readFileSync(path.join(DIST, 'client/index.d.ts'), 'utf8')).toMatch(/declare class FabricClient/);
    expect(fs.readFileSync(path.join(DIST, 'client/events.d.ts'), 'utf8')).toMatch(/interface ServerToClientEvents/);
  });
});
