/**
 * The one composition point: the route table, the realtime app and the context wired into the
 * three process shapes (all-in-one, API, realtime). Entry points and tests start processes
 * from here; lib/ never imports handlers/, realtime/ or scripts/.
 */
import type { Config } from '../lib/config.js';
import { createContext, type AppContext } from '../lib/context.js';
import { createLogger } from '../lib/logger.js';
import { checkFileDir } from '../lib/files/storage-dir.js';
import type { RandomSource } from '../lib/turns/engine.js';
import { routes } from '../handlers/routes.js';
import { createRealtimeApp, REALTIME_ENGINE_PATH, type RealtimeApp } from '../realtime/app.js';
import { createLocalEmitter } from '../realtime/dispatch.js';
import { createInternalChannel } from '../realtime/internal-channel.js';
import { createRealtimeEndpoints } from '../realtime/public-endpoints.js';
import { connectRedisCluster } from '../realtime/redis-cluster.js';
import { listenFetch, type Listening } from '../lib/server/node.js';
import { requestIdFor } from '../lib/http/request-context.js';
import { createApiRouter } from '../lib/server/router.js';
import { startBackgroundJobs } from '../lib/server/jobs.js';
import { startMetricsListener } from '../lib/server/metrics-listener.js';

const log = createLogger('server');

export interface CloseOptions {
  /**
   * How long the requests in flight may take to finish (ms). Default 0: cut off at once (tests,
   * `npm run dev`); a server stopped by a signal gets scripts/run-entry.ts's shutdown timeout.
   */
  drainMs?: number;
}

export interface RunningProcess {
  /** Base URL of the public port (API and/or socket.io). */
  url: string;
  port: number;
  ctx: AppContext;
  /**
   * Stops the process: no new connection, readiness 503, the requests in flight finish (up to
   * `drainMs`), then what is queued is written out and the sockets and the database close.
   * Resolves true when every request in flight finished, false when some were cut off.
   */
  close(opts?: CloseOptions): Promise<boolean>;
}

export interface StartOptions {
  random?: RandomSource;
  /** Register with Center and heartbeat (default true). */
  heartbeat?: boolean;
  /** Run the retention sweep on its cron (default true). */
  jobs?: boolean;
  /** A stop was asked for while starting (lib/context.ts ContextOptions). */
  stopRequested?: () => boolean;
}

/** All-in-one: API and socket.io on one port; emits go straight to the in-process server. */
export async function startAllInOne(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningProcess & { realtime: RealtimeApp }> {
  let realtime: RealtimeApp | undefined;
  const emitter = createLocalEmitter(() => realtime);
  const presence = { onlineAmong: async (userIds: readonly string[]) => (realtime ? realtime.onlineAmong(userIds) : []) };
  await checkFileDir(config.fileDir); // before anything opens: a bad FILE_DIR stops startup
  const ctx = await createContext(config, { emitter, presence, random: opts.random, heartbeat: opts.heartbeat ?? true, stopRequested: opts.stopRequested });
  const http: Listening = await opening(PORT_VARIABLE, String(config.port), () =>
    listenFetch(
      notReadyWhileDraining(createApiRouter(routes, ctx), API_READY_PATH, () => http.draining),
      config.port,
      undefined,
      { upgradePath: REALTIME_ENGINE_PATH },
    ),
  );
  realtime = createRealtimeApp(http.server, ctx);
  const metrics = await openMetrics(config, { ctx, nsp: realtime.nsp as never });
  const jobs = opts.jobs === false ? undefined : startBackgroundJobs(ctx);
  log.info('guild node listening (all-in-one)', { port: http.port, db: config.db.type, nodeId: config.nodeId });
  return {
    url: `http://127.0.0.1:${http.port}`,
    port: http.port,
    ctx,
    realtime,
    async close({ drainMs = 0 } = {}) {
      // Sockets stay connected while the requests in flight finish: they get those requests' events.
      const draining = drainLogged(http, drainMs); // stops accepting at once
      await jobs?.stop();
      const drained = await draining;
      await flushQueued(ctx);
      // socket.io's close also closes the HTTP server, which waits for busy connections (a
      // response a client stopped reading): close it together with ours, which drops them.
      await Promise.all([realtime!.close(), http.close(), metrics?.close()]);
      await ctx.close();
      return drained;
    },
  };
}

/** Split mode, API process: REST only; emits go to REALTIME_INTERNAL_URL. */
export async function startApiProcess(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningProcess> {
  if (!config.realtimeInternalUrl) {
    throw new Error('FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL is required for an API process in split mode (set it to "none" to run without realtime)');
  }
  await checkFileDir(config.fileDir);
  const ctx = await createContext(config, { random: opts.random, heartbeat: opts.heartbeat ?? true, stopRequested: opts.stopRequested });
  const http: Listening = await opening(PORT_VARIABLE, String(config.port), () =>
    listenFetch(
      notReadyWhileDraining(createApiRouter(routes, ctx), API_READY_PATH, () => http.draining),
      config.port,
    ),
  );
  const metrics = await openMetrics(config, { ctx });
  const jobs = opts.jobs === false ? undefined : startBackgroundJobs(ctx);
  log.info('guild node API listening (split mode)', { port: http.port, emitsTo: config.realtimeInternalUrl ?? 'nowhere' });
  return {
    url: `http://127.0.0.1:${http.port}`,
    port: http.port,
    ctx,
    async close({ drainMs = 0 } = {}) {
      const draining = drainLogged(http, drainMs);
      await jobs?.stop();
      const drained = await draining;
      await flushQueued(ctx);
      await Promise.all([http.close(), metrics?.close()]);
      await ctx.close();
      return drained;
    },
  };
}

/** Split mode, realtime process: socket.io on REALTIME_PORT, the internal emit channel on REALTIME_INTERNAL_HOST:PORT. */
export async function startRealtimeProcess(config: Readonly<Config>, opts: Pick<StartOptions, 'stopRequested'> = {}): Promise<RunningProcess & { internalPort: number }> {
  const internalSecret = config.internalSecret;
  if (!internalSecret) throw new Error('FABRIC_BACKEND_GUILD_INTERNAL_SECRET is required for a realtime process');
  let app: RealtimeApp | undefined;
  // Its own events (speaker timeouts it fires) go through its own stream delivery. It
  // registers with Center when PUBLIC_URL names the REST API (with handler bundles as the API,
  // no other process would); left at its default it would register a URL of its own guessing.
  const ctx = await createContext(config, { heartbeat: config.publicUrlGiven, emitter: createLocalEmitter(() => app), stopRequested: opts.stopRequested });
  // Connected before the public port listens: a socket accepted under a provisional adapter
  // would lose its rooms when the Redis one replaced it.
  const cluster = config.redisUrl ? await connectRedisCluster(config.redisUrl, config.nodeId) : undefined;
  const publicHttp: Listening = await opening('FABRIC_BACKEND_GUILD_REALTIME_PORT', String(config.realtimePort), () =>
    listenFetch(
      notReadyWhileDraining(createRealtimeEndpoints(ctx, cluster), REALTIME_READY_PATH, () => publicHttp.draining),
      config.realtimePort,
      undefined,
      { upgradePath: REALTIME_ENGINE_PATH },
    ),
  );
  const realtime = createRealtimeApp(publicHttp.server, ctx, { cluster });
  app = realtime;
  // Speaker timeouts, the event-log trim and the file sweep run here too (agent-rooms.md
  // "Timers"): with handler bundles hosted alone as the API, no other process would run them.
  const jobs = startBackgroundJobs(ctx);
  const internal = await opening('FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_HOST / _PORT', `${config.realtimeInternalHost}:${config.realtimeInternalPort}`, () =>
    listenFetch(createInternalChannel(realtime, internalSecret), config.realtimeInternalPort, config.realtimeInternalHost),
  );
  const metrics = await openMetrics(config, { ctx, nsp: realtime.nsp });
  log.info('guild node realtime listening', { port: publicHttp.port, internalPort: internal.port, redis: !!config.redisUrl });
  return {
    url: `http://127.0.0.1:${publicHttp.port}`,
    port: publicHttp.port,
    internalPort: internal.port,
    ctx,
    async close({ drainMs = 0 } = {}) {
      // Emits an API process handed over before this signal are applied and answered.
      const draining = Promise.all([drainLogged(internal, drainMs), drainLogged(publicHttp, drainMs)]);
      await jobs.stop();
      const drained = (await draining).every(Boolean);
      await Promise.all([internal.close(), metrics?.close()]);
      await Promise.all([realtime.close(), publicHttp.close()]); // see startAllInOne
      await cluster?.close();
      await ctx.close();
      return drained;
    },
  };
}

const PORT_VARIABLE = 'FABRIC_BACKEND_GUILD_PORT';

/** A listener that cannot open (a port taken, a host that does not resolve) stops startup naming the variables that chose it. */
async function opening<T>(variables: string, where: string, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (err) {
    throw new Error(`${variables} (${where}): cannot listen: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

const openMetrics = (config: Readonly<Config>, sources: Parameters<typeof startMetricsListener>[1]) =>
  opening('FABRIC_BACKEND_GUILD_METRICS_HOST / _PORT', `${config.metricsHost}:${config.metricsPort}`, () => startMetricsListener(config, sources));

const API_READY_PATH = '/api/ready';
const REALTIME_READY_PATH = '/ready';

/**
 * While the process drains, its readiness probe answers 503 `{status: "stopping"}` on a
 * keep-alive connection that is still open (new connections are refused by then), so a load
 * balancer that probes over one stops sending; every other request is served as usual.
 */
function notReadyWhileDraining(fetch: (request: Request) => Promise<Response>, readyPath: string, draining: () => boolean) {
  return (request: Request): Promise<Response> => {
    if (!draining() || request.method !== 'GET' || new URL(request.url).pathname !== readyPath) return fetch(request);
    const headers = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-request-id': requestIdFor(request.headers) };
    return Promise.resolve(new Response(JSON.stringify({ status: 'stopping' }), { status: 503, headers }));
  };
}

/** Drains `http` for up to `drainMs`; logs the connections whose requests were cut off at the deadline. */
async function drainLogged(http: Listening, drainMs: number): Promise<boolean> {
  const drained = await http.drain(drainMs);
  if (!drained) log.warn('requests still in flight at the shutdown deadline are cut off', { port: http.port, connections: http.openConnections, deadlineMs: drainMs });
  return drained;
}

/** After the drain: posts still in the MySQL group commit (only when requests were cut off) and the events handed over. */
async function flushQueued(ctx: AppContext): Promise<void> {
  await ctx.database.postBatches?.settled();
  await ctx.emitter.flush();
}
