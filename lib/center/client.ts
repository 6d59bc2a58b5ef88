/**
 * The one Center client (center.md). Every call to Center lives here, so the contract can
 * change in one place: register/heartbeat, token introspection, names → users, ids → users.
 *
 * Decisions where center.md is silent:
 * - Cache keys for tokens are the sha256 hex of the token; the raw token is never stored
 *   or logged.
 * - An active answer whose `expiresAt` is already past (clock skew) is honoured for this
 *   request but not cached; an unparsable `expiresAt` is ignored (the 60 s cap still holds).
 * - Any non-2xx answer, a malformed body, a network error or a timeout is "Center
 *   unavailable" (503 `center_unavailable`). Redirects are not followed: they would carry the
 *   token and the API key to another address, and the answer would not be Center's. A 401 means our API key is wrong: it is logged
 *   as an error (misconfiguration), and callers still get 503 (it is not the caller's fault).
 * - Failures of the request path are logged once per kind of failure, not once per request,
 *   and recovery is logged once.
 * - Name and id look-ups cache misses too (60 s), fill each other's cache, and are sent in
 *   batches of at most 500; names are matched exactly, falling back to a case-insensitive
 *   match in case Center normalises case.
 * - Each cache holds at most 50 000 entries; past that the oldest entry is dropped.
 */
import { hash } from 'node:crypto';
import { z } from 'zod';
import { HttpError } from '../errors.js';
import { createLogger } from '../logger.js';
import { withFields } from '../objects.js';
import { centerCache, centerCalls, stopwatch } from '../metrics.js';

export type Principal = { kind: 'user'; userId: string; name: string; displayName?: string } | { kind: 'guild'; guildId: string };

/** An active token as Center described it, and until when that answer is cached. */
export interface TokenSession {
  principal: Principal;
  /** When the token expires (ms since the epoch), when Center said. */
  expiresAt?: number;
  /** When this answer leaves the cache: asking again from then on reaches Center. */
  cachedUntil: number;
}

export interface CenterUser {
  id: string;
  name: string;
  displayName?: string;
}

export interface CenterClientOptions {
  baseUrl: string;
  apiKey: string;
  nodeId: string;
  /** The URL registered with Center as this node's baseUrl. */
  publicUrl: string;
  /** Same string as /api/health reports. */
  version: string;
  /** Cache lifetime of an active introspection answer (capped by expiresAt). Default 60. */
  tokenCacheSeconds?: number;
  /** Timeout of one Center call. Default 2000. */
  timeoutMs?: number;
  /** Interval between heartbeats while Center answers. Default 30000. */
  heartbeatMs?: number;
}

export interface CenterClient {
  /** null when Center says inactive. Throws HttpError(503,'center_unavailable') when Center is unreachable / 5xx / times out and the answer is not cached. */
  introspect(token: string): Promise<Principal | null>;
  /** Like `introspect`, with the token's expiry and the cache's schedule (open sockets re-check on it). */
  session(token: string): Promise<TokenSession | null>;
  /** name → user for the names Center knows; cached 60 s per name (misses too); one batched call for the uncached ones. 503 on failure. */
  resolveNames(names: readonly string[]): Promise<Map<string, CenterUser>>;
  /** id → user for known ids; cached 60 s; one batched call for uncached ones. 503 on failure. */
  lookupIds(ids: readonly string[]): Promise<Map<string, CenterUser>>;
  /** Registers now, then heartbeats every heartbeatMs; while failing retries with backoff 1 s doubling up to 30 s; logs, never throws, never blocks startup. */
  startHeartbeat(): void;
  /** Stops the heartbeat (and aborts one in flight). Caches stay usable. */
  stop(): void;
}

const log = createLogger('center');
// Pre-labelled: the token cache is looked up on every request.
const CACHE = { tokenHit: centerCache.labels('token', 'hit'), tokenMiss: centerCache.labels('token', 'miss') };

const INACTIVE_CACHE_MS = 5_000;
const LOOKUP_CACHE_MS = 60_000;
const CACHE_MAX_ENTRIES = 50_000;
const BATCH_MAX = 500;
const BACKOFF_FIRST_MS = 1_000;
const BACKOFF_MAX_MS = 30_000;

const introspectAnswer = z.union([
  z.object({ active: z.literal(false) }),
  z.object({
    active: z.literal(true),
    kind: z.literal('user'),
    userId: z.string().min(1),
    name: z.string(),
    displayName: z.string().nullish(),
    expiresAt: z.string().nullish(),
  }),
  z.object({ active: z.literal(true), kind: z.literal('guild'), guildId: z.string().min(1), expiresAt: z.string().nullish() }),
]);
const usersAnswer = z.object({
  users: z.array(z.object({ id: z.string().min(1), name: z.string(), displayName: z.string().nullish() })),
});

/** A size-bounded map whose entries expire; the oldest insertion goes first when full. */
class TtlCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();
  constructor(private readonly maxEntries = CACHE_MAX_ENTRIES) {}

  get(key: string): { value: V; expiresAt: number } | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: V, ttlMs: number) {
    if (!(ttlMs > 0)) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: Date.now() + ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** Why a Center call failed; `misconfigured` marks a problem on our side (wrong API key). */
class CenterCallError extends Error {
  constructor(
    message: string,
    readonly misconfigured = false,
  ) {
    super(message);
  }
}

// The one-shot hash: no Hash object per request (the token cache is looked up on every call).
const sha256 = (s: string) => hash('sha256', s, 'hex');
const toUser = (u: { id: string; name: string; displayName?: string | null }): CenterUser =>
  u.displayName != null ? { id: u.id, name: u.name, displayName: u.displayName } : { id: u.id, name: u.name };
const chunks = <T>(list: T[], size: number) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

/** Builds the Center client; nothing is sent until a method is called. */
export function createCenterClient(opts: CenterClientOptions): CenterClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const tokenCacheMs = (opts.tokenCacheSeconds ?? 60) * 1000;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const heartbeatMs = opts.heartbeatMs ?? 30_000;

  const tokens = new TtlCache<Omit<TokenSession, 'cachedUntil'> | null>();
  const byName = new TtlCache<CenterUser | null>();
  const byId = new TtlCache<CenterUser | null>();
  const tokensInFlight = new Map<string, Promise<TokenSession | null>>();
  const namesInFlight = new Map<string, Promise<CenterUser | null>>();
  const idsInFlight = new Map<string, Promise<CenterUser | null>>();

  /** POSTs JSON to Center and returns the parsed JSON body; throws CenterCallError. */
  async function post(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const elapsed = stopwatch();
    let outcome: 'ok' | 'error' = 'error';
    try {
      const answer = await postOnce(path, body, signal);
      outcome = 'ok';
      return answer;
    } finally {
      centerCalls.observe({ path, outcome }, elapsed());
    }
  }

  async function postOnce(path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(baseUrl + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-api-key': opts.apiKey },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
      if (res.status === 401) {
        void res.body?.cancel().catch(() => {});
        throw new CenterCallError('Center rejected our API key (401): check FABRIC_BACKEND_GUILD_CENTER_API_KEY', true);
      }
      if (!res.ok) {
        void res.body?.cancel().catch(() => {});
        throw new CenterCallError(`Center answered ${res.status} to ${path}`);
      }
      return await res.json();
    } catch (err) {
      if (err instanceof CenterCallError) throw err;
      if (timeout.aborted) throw new CenterCallError(`Center did not answer ${path} within ${timeoutMs} ms`);
      if (err instanceof SyntaxError) throw new CenterCallError(`Center answered ${path} with malformed JSON`);
      const cause = err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
      throw new CenterCallError(`Center unreachable at ${baseUrl}: ${cause}`);
    }
  }

  // The request path logs each kind of failure once, and the recovery once.
  let lastProblem: string | undefined;
  function unavailable(err: unknown): HttpError {
    const problem = err instanceof Error ? err.message : String(err);
    if (problem !== lastProblem) {
      const misconfigured = err instanceof CenterCallError && err.misconfigured;
      (misconfigured ? log.error : log.warn)(problem);
      lastProblem = problem;
    } else {
      log.debug(problem);
    }
    return new HttpError(503, 'center_unavailable', 'Center is unavailable; retry later');
  }
  function answered() {
    if (lastProblem !== undefined) log.info('Center answers again');
    lastProblem = undefined;
  }

  async function callCenter<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    let raw: unknown;
    try {
      raw = await post(path, body);
    } catch (err) {
      throw unavailable(err);
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw unavailable(new CenterCallError(`Center answered ${path} with an unexpected shape`));
    answered();
    return parsed.data;
  }

  async function fetchSession(key: string, token: string): Promise<TokenSession | null> {
    const answer = await callCenter('/api/auth/introspect', { token }, introspectAnswer);
    if (!answer.active) {
      tokens.set(key, null, INACTIVE_CACHE_MS);
      return null;
    }
    const principal: Principal =
      answer.kind === 'guild'
        ? { kind: 'guild', guildId: answer.guildId }
        : { kind: 'user', userId: answer.userId, name: answer.name, ...(answer.displayName != null ? { displayName: answer.displayName } : {}) };
    const expiresAt = answer.expiresAt ? Date.parse(answer.expiresAt) : NaN;
    const ttlMs = Number.isNaN(expiresAt) ? tokenCacheMs : Math.min(tokenCacheMs, expiresAt - Date.now());
    const entry = Number.isNaN(expiresAt) ? { principal } : { principal, expiresAt };
    tokens.set(key, entry, ttlMs);
    return withFields(entry, { cachedUntil: Date.now() + Math.max(0, ttlMs) });
  }

  async function session(token: string): Promise<TokenSession | null> {
    if (!token) return null;
    const key = sha256(token);
    const cached = tokens.get(key);
    (cached ? CACHE.tokenHit : CACHE.tokenMiss).inc();
    if (cached) return cached.value && withFields(cached.value, { cachedUntil: cached.expiresAt });
    let pending = tokensInFlight.get(key);
    if (!pending) {
      pending = fetchSession(key, token).finally(() => tokensInFlight.delete(key));
      tokensInFlight.set(key, pending);
    }
    return pending;
  }

  async function introspect(token: string): Promise<Principal | null> {
    if (!token) return null;
    const cached = tokens.get(sha256(token));
    if (cached) {
      CACHE.tokenHit.inc();
      return cached.value && cached.value.principal;
    }
    return (await session(token))?.principal ?? null;
  }

  function remember(users: CenterUser[]) {
    for (const u of users) {
      byId.set(u.id, u, LOOKUP_CACHE_MS);
      byName.set(u.name, u, LOOKUP_CACHE_MS);
    }
  }

  /** Shared shape of resolveNames/lookupIds: cache, then in-flight batches, then one batched call per chunk. */
  async function batchedLookup(
    keys: readonly string[],
    cache: TtlCache<CenterUser | null>,
    inFlight: Map<string, Promise<CenterUser | null>>,
    fetchBatch: (batch: string[]) => Promise<Map<string, CenterUser>>,
  ): Promise<Map<string, CenterUser>> {
    const waiting = new Map<string, Promise<CenterUser | null>>();
    const missing: string[] = [];
    const found = new Map<string, CenterUser>();
    for (const key of new Set(keys)) {
      if (!key) continue;
      const cached = cache.get(key);
      centerCache.labels(cache === byId ? 'id' : 'name', cached ? 'hit' : 'miss').inc();
      if (cached) {
        if (cached.value) found.set(key, cached.value);
      } else if (inFlight.has(key)) {
        waiting.set(key, inFlight.get(key)!);
      } else {
        missing.push(key);
      }
    }
    for (const batch of chunks(missing, BATCH_MAX)) {
      const call = fetchBatch(batch).then((users) => {
        for (const key of batch) cache.set(key, users.get(key) ?? null, LOOKUP_CACHE_MS);
        return users;
      });
      call.catch(() => {}).finally(() => batch.forEach((key) => inFlight.delete(key)));
      for (const key of batch) {
        const one = call.then((users) => users.get(key) ?? null);
        inFlight.set(key, one);
        waiting.set(key, one);
      }
    }
    const settled = await Promise.allSettled([...waiting].map(async ([key, p]) => [key, await p] as const));
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason;
      if (s.value[1]) found.set(s.value[0], s.value[1]);
    }
    return found;
  }

  async function resolveBatch(names: string[]): Promise<Map<string, CenterUser>> {
    const { users } = await callCenter('/api/users/resolve', { names }, usersAnswer);
    const list = users.map(toUser);
    remember(list);
    const exact = new Map(list.map((u) => [u.name, u]));
    const folded = new Map(list.map((u) => [u.name.toLowerCase(), u]));
    const out = new Map<string, CenterUser>();
    for (const name of names) {
      const user = exact.get(name) ?? folded.get(name.toLowerCase());
      if (user) out.set(name, user);
    }
    return out;
  }

  async function lookupBatch(ids: string[]): Promise<Map<string, CenterUser>> {
    const { users } = await callCenter('/api/users/lookup', { ids }, usersAnswer);
    const list = users.map(toUser);
    remember(list);
    const wanted = new Set(ids);
    return new Map(list.filter((u) => wanted.has(u.id)).map((u) => [u.id, u]));
  }

  // Heartbeat: register now, then every heartbeatMs; on failure retry at 1 s, 2 s, 4 s … 30 s.
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let heartbeatAbort: AbortController | undefined;
  let backoffMs = BACKOFF_FIRST_MS;
  let registered = false;

  async function beat(controller: AbortController) {
    let nextMs: number;
    try {
      await post('/api/nodes/register', { nodeId: opts.nodeId, baseUrl: opts.publicUrl, version: opts.version }, controller.signal);
      if (!registered) log.info('registered with Center', { nodeId: opts.nodeId, baseUrl: opts.publicUrl, version: opts.version });
      else log.debug('heartbeat sent');
      registered = true;
      backoffMs = BACKOFF_FIRST_MS;
      nextMs = heartbeatMs;
    } catch (err) {
      if (controller.signal.aborted) return;
      const misconfigured = err instanceof CenterCallError && err.misconfigured;
      (misconfigured ? log.error : log.warn)(`registration with Center failed: ${(err as Error).message}`, { retryInMs: backoffMs });
      registered = false;
      nextMs = backoffMs;
      backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
    }
    if (controller.signal.aborted) return;
    heartbeatTimer = setTimeout(() => void beat(controller), nextMs);
    heartbeatTimer.unref();
  }

  return {
    introspect,
    session,
    resolveNames: (names) => batchedLookup(names, byName, namesInFlight, resolveBatch),
    lookupIds: (ids) => batchedLookup(ids, byId, idsInFlight, lookupBatch),
    startHeartbeat() {
      if (heartbeatAbort) return;
      heartbeatAbort = new AbortController();
      backoffMs = BACKOFF_FIRST_MS;
      void beat(heartbeatAbort);
    },
    stop() {
      heartbeatAbort?.abort();
      heartbeatAbort = undefined;
      clearTimeout(heartbeatTimer);
      heartbeatTimer = undefined;
    },
  };
}
