import type { Namespace } from 'socket.io';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { createLogger } from '../logger.js';
import { collectProcessMetrics, gaugeOf, registry } from '../metrics.js';
import { listenFetch, type Listening } from './node.js';

const log = createLogger('metrics');

export interface MetricsSources {
  ctx: AppContext;
  /** The socket.io namespace of a process that serves sockets. */
  nsp?: Namespace;
}

/** Gauges read at scrape time from the process's parts: the database pool, sockets and rooms. */
function registerGauges({ ctx, nsp }: MetricsSources) {
  const pool = ctx.database.poolStats;
  if (pool) {
    gaugeOf('fabric_db_pool_connections_in_use', 'MySQL connections checked out of the pool', () => {
      const s = pool();
      return s.open - s.idle;
    });
    gaugeOf('fabric_db_pool_connections_open', 'MySQL connections open in the pool', () => pool().open);
    gaugeOf('fabric_db_pool_waiting', 'Queries waiting for a free MySQL connection', () => pool().waiting);
  }
  if (nsp) {
    gaugeOf('fabric_realtime_sockets', 'socket.io clients connected to this process', () => nsp.sockets.size);
    // Every socket also sits in a room named after its own id: those are not counted.
    gaugeOf('fabric_realtime_rooms', 'Rooms (channels, users, guilds) with a socket of this process', () => {
      let n = 0;
      for (const room of nsp.adapter.rooms.keys()) if (!nsp.sockets.has(room)) n++;
      return n;
    });
  }
}

/**
 * `GET /metrics` (Prometheus text format) on its own listener, only when METRICS_PORT is set:
 * bound to METRICS_HOST (loopback by default) so it is never public by accident.
 */
export async function startMetricsListener(config: Readonly<Config>, sources: MetricsSources): Promise<Listening | undefined> {
  if (config.metricsPort === undefined) return undefined;
  collectProcessMetrics();
  registerGauges(sources);
  const listening = await listenFetch(
    async (request) => {
      const path = new URL(request.url).pathname;
      if (request.method !== 'GET' || path !== '/metrics') return new Response('not found\n', { status: 404 });
      return new Response(await registry.metrics(), { status: 200, headers: { 'content-type': registry.contentType } });
    },
    config.metricsPort,
    config.metricsHost,
  );
  log.info('metrics listening', { host: config.metricsHost, port: listening.port });
  return listening;
}
