/**
 * The one composition point: the route table, the realtime app and the context wired into the
 * three process shapes (all-in-one, API, realtime). Entry points and tests start processes
 * from here; lib/ never imports handlers/, realtime/ or scripts/.
 */
import type { Config } from '../lib/config.js';
import { createContext, type AppContext } from '../lib/context.js';
import { createLogger } from '../lib/logger.js';
import type { RandomSource } from '../lib/turns/engine.js';
import { routes } from '../handlers/routes.js';
import { createRealtimeApp, REALTIME_ENGINE_PATH, type RealtimeApp } from '../realtime/app.js';
import { createLocalEmitter } from '../realtime/dispatch.js';
import { createInternalChannel } from '../realtime/internal-channel.js';
import { createRealtimeEndpoints } from '../realtime/public-endpoints.js';
import { connectRedisCluster } from '../realtime/redis-cluster.js';
import { listenFetch } from '../lib/server/node.js';
import { createApiRouter } from '../lib/server/router.js';
import { startBackgroundJobs, startSpeakerTimer } from '../lib/server/jobs.js';
import { startMetricsListener } from '../lib/server/metrics-listener.js';

const log = createLogger('server');

export interface RunningProcess {
  /** Base URL of the public port (API and/or socket.io). */
  url: string;
  port: number;
  ctx: AppContext;
  close(): Promise<void>;
}

export interface StartOptions {
  random?: RandomSource;
  /** Register with Center and heartbeat (default true). */
  heartbeat?: boolean;
  /** Run the retention sweep on its cron (default true). */
  jobs?: boolean;
}

/** All-in-one: API and socket.io on one port; emits go straight to the in-process server. */
export async function startAllInOne(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningProcess & { realtime: RealtimeApp }> {
  let realtime: RealtimeApp | undefined;
  const emitter = createLocalEmitter(() => realtime);
  const presence = { onlineAmong: async (userIds: readonly string[]) => (realtime ? realtime.onlineAmong(userIds) : []) };
  const ctx = await createContext(config, { emitter, presence, random: opts.random, heartbeat: opts.heartbeat ?? true });
  const http = await listenFetch(createApiRouter(routes, ctx), config.port, undefined, { upgradePath: REALTIME_ENGINE_PATH });
  realtime = createRealtimeApp(http.server, ctx);
  const metrics = await startMetricsListener(config, { ctx, nsp: realtime.nsp as never });
  const jobs = opts.jobs === false ? undefined : startBackgroundJobs(ctx);
  log.info('guild node listening (all-in-one)', { port: http.port, db: config.db.type, nodeId: config.nodeId });
  return {
    url: `http://127.0.0.1:${http.port}`,
    port: http.port,
    ctx,
    realtime,
    async close() {
      await jobs?.stop();
      // socket.io's close also closes the HTTP server, which waits for busy connections (a
      // response a client stopped reading): close it together with ours, which drops them.
      await Promise.all([realtime!.close(), http.close(), metrics?.close()]);
      await ctx.close();
    },
  };
}

/** Split mode, API process: REST only; emits go to REALTIME_INTERNAL_URL. */
export async function startApiProcess(config: Readonly<Config>, opts: StartOptions = {}): Promise<RunningProcess> {
  if (!config.realtimeInternalUrl) {
    throw new Error('FABRIC_BACKEND_GUILD_REALTIME_INTERNAL_URL is required for an API process in split mode (set it to "none" to run without realtime)');
  }
  const ctx = await createContext(config, { random: opts.random, heartbeat: opts.heartbeat ?? true });
  const http = await listenFetch(createApiRouter(routes, ctx), config.port);
  const metrics = await startMetricsListener(config, { ctx });
  const jobs = opts.jobs === false ? undefined : startBackgroundJobs(ctx);
  log.info('guild node API listening (split mode)', { port: http.port, emitsTo: config.realtimeInternalUrl ?? 'nowhere' });
  return {
    url: `http://127.0.0.1:${http.port}`,
    port: http.port,
    ctx,
    async close() {
      await jobs?.stop();
      await Promise.all([http.close(), metrics?.close()]);
      await ctx.close();
    },
  };
}

/** Split mode, realtime process: socket.io on REALTIME_PORT, the internal emit channel on REALTIME_INTERNAL_HOST:PORT. */
export async function startRealtimeProcess(config: Readonly<Config>): Promise<RunningProcess & { internalPort: number }> {
  if (!config.internalSecret) throw new Error('FABRIC_BACKEND_GUILD_INTERNAL_SECRET is required for a realtime process');
  let app: RealtimeApp | undefined;
  // Its own events (speaker timeouts it fires) go through its own stream delivery.
  const ctx = await createContext(config, { heartbeat: false, emitter: createLocalEmitter(() => app) });
  // Connected before the public port listens: a socket accepted under a provisional adapter
  // would lose its rooms when the Redis one replaced it.
  const cluster = config.redisUrl ? await connectRedisCluster(config.redisUrl, config.nodeId) : undefined;
  const publicHttp = await listenFetch(createRealtimeEndpoints(ctx, cluster), config.realtimePort, undefined, { upgradePath: REALTIME_ENGINE_PATH });
  const realtime = createRealtimeApp(publicHttp.server, ctx, { cluster });
  app = realtime;
  const stopSpeakerTimer = startSpeakerTimer(ctx);
  const internal = await listenFetch(createInternalChannel(realtime, config.internalSecret), config.realtimeInternalPort, config.realtimeInternalHost);
  const metrics = await startMetricsListener(config, { ctx, nsp: realtime.nsp });
  log.info('guild node realtime listening', { port: publicHttp.port, internalPort: internal.port, redis: !!config.redisUrl });
  return {
    url: `http://127.0.0.1:${publicHttp.port}`,
    port: publicHttp.port,
    internalPort: internal.port,
    ctx,
    async close() {
      await stopSpeakerTimer();
      await Promise.all([internal.close(), metrics?.close()]);
      await Promise.all([realtime.close(), publicHttp.close()]); // see startAllInOne
      await cluster?.close();
      await ctx.close();
    },
  };
}
