/**
 * The Center emulator — for development and tests only (center.md "The Center emulator").
 *
 * A plain node:http server with in-memory state that answers exactly the calls of center.md
 * (register, introspect, resolve, lookup), checks `x-api-key` on every call, and adds
 * development endpoints to create identities:
 *   POST /api/dev/users {name, displayName?, ttlSeconds?}   → {id, name, token}   (409 name taken)
 *   POST /api/dev/users/:id/tokens {ttlSeconds?}           → {token}             (another token)
 *   POST /api/dev/guild-tokens {guildId, ttlSeconds?}       → {token}
 *   POST /api/dev/tokens/revoke {token}                     → {ok, revoked}
 *   GET  /api/dev/nodes                                     → {nodes: [{nodeId, baseUrl, version, registeredAt, lastHeartbeat, heartbeats}]}
 *   GET  /api/dev/stats                                     → {introspect, resolve, lookup, register} (calls received)
 *   POST /api/dev/fail {mode: 'none'|'down'|'5xx', delayMs?} → simulate Center failing; only the
 *        center.md calls are affected ('down' drops the connection, '5xx' answers 503, delayMs
 *        waits before answering).
 *
 * In-process: `startDevCenter({port: 0, apiKey, quiet: true})`. As a script:
 * `npm run center:dev -- --port 7100 --api-key dev-center-key`.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface DevCenterOptions {
  port?: number;
  host?: string;
  apiKey: string;
  quiet?: boolean;
}
export interface DevCenter {
  url: string;
  port: number;
  close(): Promise<void>;
}

interface User {
  id: string;
  name: string;
  displayName?: string;
}
type Grant = ({ kind: 'user'; userId: string } | { kind: 'guild'; guildId: string }) & { expiresAt?: number };
interface NodeRecord {
  nodeId: string;
  baseUrl: string;
  version: string;
  registeredAt: string;
  lastHeartbeat: string;
  heartbeats: number;
}
type FailMode = 'none' | 'down' | '5xx';
type Json = Record<string, unknown>;

class ClientError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
const bad = (message: string) => new ClientError(400, 'bad_request', message);

const MAX_BODY = 1024 * 1024;
const CENTER_CALLS = { '/api/nodes/register': 'register', '/api/auth/introspect': 'introspect', '/api/users/resolve': 'resolve', '/api/users/lookup': 'lookup' } as const;
type CenterCall = (typeof CENTER_CALLS)[keyof typeof CENTER_CALLS];

const newId = (prefix: string, bytes: number) => prefix + randomBytes(bytes).toString('base64url');

function str(body: Json, key: string, opts: { optional?: boolean; max?: number } = {}): string | undefined {
  const v = body[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > (opts.max ?? 4096)) {
    throw bad(`${key} must be a non-empty string of at most ${opts.max ?? 4096} characters`);
  }
  return v;
}

function strList(body: Json, key: string): string[] {
  const v = body[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw bad(`${key} must be an array of strings`);
  return v as string[];
}

function ttl(body: Json): number | undefined {
  const v = body.ttlSeconds;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !(v > 0)) throw bad('ttlSeconds must be a positive number');
  return Date.now() + v * 1000;
}

async function readJson(req: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ClientError(413, 'payload_too_large', 'body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad('malformed JSON body');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad('body must be a JSON object');
  return parsed as Json;
}

/** Starts the emulator; resolves once it listens. For development and tests only. */
export async function startDevCenter(opts: DevCenterOptions): Promise<DevCenter> {
  const host = opts.host ?? '127.0.0.1';
  const users = new Map<string, User>();
  const idByName = new Map<string, string>();
  const tokens = new Map<string, Grant>();
  const nodes = new Map<string, NodeRecord>();
  const stats: Record<CenterCall, number> = { introspect: 0, resolve: 0, lookup: 0, register: 0 };
  let fail: { mode: FailMode; delayMs: number } = { mode: 'none', delayMs: 0 };
  const timers = new Set<NodeJS.Timeout>();

  const issue = (grant: Grant) => {
    const token = newId('dev_', 24);
    tokens.set(token, grant);
    return token;
  };
  const publicUser = (u: User) => ({ id: u.id, name: u.name, ...(u.displayName !== undefined ? { displayName: u.displayName } : {}) });

  const centerCalls: Record<CenterCall, (body: Json) => Json> = {
    register(body) {
      const nodeId = str(body, 'nodeId', { max: 128 })!;
      const now = new Date().toISOString();
      const prev = nodes.get(nodeId);
      nodes.set(nodeId, {
        nodeId,
        baseUrl: str(body, 'baseUrl')!,
        version: str(body, 'version', { max: 128 })!,
        registeredAt: prev?.registeredAt ?? now,
        lastHeartbeat: now,
        heartbeats: (prev?.heartbeats ?? 0) + 1,
      });
      return { ok: true };
    },
    introspect(body) {
      const token = body.token;
      if (typeof token !== 'string') throw bad('token must be a string');
      const grant = tokens.get(token);
      if (!grant || (grant.expiresAt !== undefined && grant.expiresAt <= Date.now())) return { active: false };
      const expiresAt = grant.expiresAt !== undefined ? { expiresAt: new Date(grant.expiresAt).toISOString() } : {};
      if (grant.kind === 'guild') return { active: true, kind: 'guild', guildId: grant.guildId, ...expiresAt };
      const user = users.get(grant.userId)!;
      const { id, ...rest } = publicUser(user);
      return { active: true, kind: 'user', userId: id, ...rest, ...expiresAt };
    },
    resolve(body) {
      const found = strList(body, 'names')
        .map((n) => idByName.get(n))
        .filter((id): id is string => id !== undefined);
      return { users: [...new Set(found)].map((id) => publicUser(users.get(id)!)) };
    },
    lookup(body) {
      const found = [...new Set(strList(body, 'ids'))].map((id) => users.get(id)).filter((u): u is User => u !== undefined);
      return { users: found.map(publicUser) };
    },
  };

  async function devCall(method: string, path: string, req: IncomingMessage): Promise<Json> {
    if (method === 'GET' && path === '/api/dev/nodes') return { nodes: [...nodes.values()] };
    if (method === 'GET' && path === '/api/dev/stats') return { ...stats };
    if (method !== 'POST') throw new ClientError(404, 'not_found', `no route ${method} ${path}`);
    const body = await readJson(req);
    if (path === '/api/dev/users') {
      const name = str(body, 'name', { max: 64 })!;
      if (/[>\r\n]/.test(name)) throw bad('name may not contain ">" or line breaks');
      const displayName = str(body, 'displayName', { optional: true, max: 200 });
      const expiresAt = ttl(body);
      if (idByName.has(name)) throw new ClientError(409, 'conflict', 'name already taken');
      const user: User = { id: newId('u_', 12), name, ...(displayName !== undefined ? { displayName } : {}) };
      users.set(user.id, user);
      idByName.set(name, user.id);
      return { id: user.id, name, token: issue({ kind: 'user', userId: user.id, expiresAt }) };
    }
    const userTokens = /^\/api\/dev\/users\/([^/]+)\/tokens$/.exec(path);
    if (userTokens) {
      const userId = decodeURIComponent(userTokens[1]);
      if (!users.has(userId)) throw new ClientError(404, 'not_found', 'user not found');
      return { token: issue({ kind: 'user', userId, expiresAt: ttl(body) }) };
    }
    if (path === '/api/dev/guild-tokens') {
      const guildId = str(body, 'guildId', { max: 128 })!;
      return { token: issue({ kind: 'guild', guildId, expiresAt: ttl(body) }) };
    }
    if (path === '/api/dev/tokens/revoke') {
      return { ok: true, revoked: tokens.delete(str(body, 'token')!) };
    }
    if (path === '/api/dev/fail') {
      const mode = body.mode;
      if (mode !== 'none' && mode !== 'down' && mode !== '5xx') throw bad("mode must be 'none', 'down' or '5xx'");
      const delayMs = body.delayMs ?? 0;
      if (typeof delayMs !== 'number' || !(delayMs >= 0)) throw bad('delayMs must be a number >= 0');
      fail = { mode, delayMs };
      return { ok: true, ...fail };
    }
    throw new ClientError(404, 'not_found', `no route ${method} ${path}`);
  }

  function send(res: ServerResponse, status: number, body: unknown) {
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const method = req.method ?? 'GET';
    const path = new URL(req.url ?? '/', 'http://center.invalid').pathname;
    if (req.headers['x-api-key'] !== opts.apiKey) {
      return send(res, 401, { error: { code: 'unauthorized', message: 'missing or wrong x-api-key' } });
    }
    const call = CENTER_CALLS[path as keyof typeof CENTER_CALLS];
    if (!call) return send(res, 200, await devCall(method, path, req));
    if (method !== 'POST') throw new ClientError(405, 'method_not_allowed', 'use POST');
    stats[call]++;
    if (fail.mode === 'down') return void req.socket.destroy();
    const body = await readJson(req);
    if (fail.delayMs > 0) {
      await new Promise<void>((done) => {
        const t = setTimeout(() => (timers.delete(t), done()), fail.delayMs);
        timers.add(t);
      });
    }
    if (fail.mode === '5xx') return send(res, 503, { error: { code: 'unavailable', message: 'simulated failure' } });
    send(res, 200, centerCalls[call](body));
  }

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res)
      .catch((err: unknown) => {
        const e = err instanceof ClientError ? err : new ClientError(500, 'internal', 'internal error');
        if (!(err instanceof ClientError)) console.error('[dev-center] unexpected error', err);
        send(res, e.status, { error: { code: e.code, message: e.message } });
      })
      .finally(() => {
        if (!opts.quiet) console.log(`[dev-center] ${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms`);
      });
  });

  await new Promise<void>((ready, failed) => {
    server.once('error', failed);
    server.listen(opts.port ?? 7100, host, () => ready());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    port,
    close: () =>
      new Promise<void>((done) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '7100' },
      host: { type: 'string', default: '127.0.0.1' },
      'api-key': { type: 'string', default: 'dev-center-key' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: npm run center:dev -- [--port 7100] [--host 127.0.0.1] [--api-key dev-center-key]\n\nThe Center emulator, for development and tests only.');
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be a port number (got "${values.port}")`);
  const apiKey = values['api-key'];
  if (!apiKey) throw new Error('--api-key must not be empty');
  const center = await startDevCenter({ port, host: values.host, apiKey });
  console.log(
    [
      '*** Fabric Center EMULATOR — for development and tests only; never use it in production. ***',
      `    URL:     ${center.url}   (FABRIC_BACKEND_GUILD_CENTER_BASE_URL)`,
      `    API key: ${apiKey}   (FABRIC_BACKEND_GUILD_CENTER_API_KEY)`,
      `    Create a user: curl -s -X POST ${center.url}/api/dev/users -H 'x-api-key: ${apiKey}' -H 'content-type: application/json' -d '{"name":"alice"}'`,
    ].join('\n'),
  );
  const shutdown = () => void center.close().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

// Run only as the entry script (not when bundled into, or imported by, another script).
const self = fileURLToPath(import.meta.url);
if (process.argv[1] && resolvePath(process.argv[1]) === self && /[\\/]dev-center\.[jt]s$/.test(self)) {
  main().catch((err: unknown) => {
    console.error(`dev-center: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
