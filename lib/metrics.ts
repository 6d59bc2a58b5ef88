import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every Prometheus metric of the node, in one registry (docs/operations.md lists them). Recording
 * is a counter increment or a histogram observation on a pre-labelled child: cheap enough for the
 * post path. Only the long-lived processes serve the registry (lib/server/metrics-listener.ts,
 * when METRICS_PORT is set); elsewhere (a handler hosted alone, a CLI) what is recorded is
 * simply never read.
 */
export const registry = new Registry();

let defaultsCollected = false;
/** Process metrics (CPU, memory, event-loop lag, GC), once per process, when the listener starts. */
export function collectProcessMetrics() {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry, prefix: 'fabric_' });
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// REST
export const httpRequests = new Counter({
  name: 'fabric_http_requests_total',
  help: 'REST requests answered, by route pattern, method and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
export const httpDuration = new Histogram({
  name: 'fabric_http_request_duration_seconds',
  help: 'Time from request to response headers, by route pattern, method and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

// Group commit of posts (MySQL)
export const postBatchSize = new Histogram({
  name: 'fabric_post_batch_size',
  help: 'Posts carried by one group-commit transaction',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});
export const postBatchWait = new Histogram({
  name: 'fabric_post_batch_wait_seconds',
  help: 'Time a post waited in the group-commit queue before its batch was sent',
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
export const postBatchRetries = new Counter({
  name: 'fabric_post_batch_retries_total',
  help: 'Group-commit batches retried in halves after a failure',
  registers: [registry],
});

// Event hand-over (split mode: API process → realtime process)
export const handoverQueued = new Counter({
  name: 'fabric_event_handover_queued_total',
  help: 'Events queued for the realtime process',
  registers: [registry],
});
export const handoverSent = new Counter({
  name: 'fabric_event_handover_sent_total',
  help: 'Events the realtime process accepted',
  registers: [registry],
});
export const handoverFailed = new Counter({
  name: 'fabric_event_handover_failed_total',
  help: 'Events and room changes given up on, by reason (call failed, too large, dropped from a full queue)',
  labelNames: ['reason'] as const,
  registers: [registry],
});
export const handoverBacklog = new Gauge({
  name: 'fabric_event_handover_backlog',
  help: 'Events waiting to be sent to the realtime process',
  registers: [registry],
});
export const handoverLatency = new Histogram({
  name: 'fabric_event_handover_call_duration_seconds',
  help: 'Duration of one internal call to the realtime process, by outcome',
  labelNames: ['outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

// Center
export const centerCalls = new Histogram({
  name: 'fabric_center_call_duration_seconds',
  help: 'Duration of calls to Center, by path and outcome (ok or error)',
  labelNames: ['path', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});
export const centerCache = new Counter({
  name: 'fabric_center_cache_lookups_total',
  help: 'Token and user look-ups, by cache (token, name, id) and result (hit or miss)',
  labelNames: ['cache', 'result'] as const,
  registers: [registry],
});

// File retention sweep
export const sweepRuns = new Counter({
  name: 'fabric_file_sweep_runs_total',
  help: 'Retention sweep runs, by outcome (ok or error)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const sweepFiles = new Counter({
  name: 'fabric_file_sweep_files_total',
  help: 'Expired files removed by the retention sweep',
  registers: [registry],
});
export const sweepBytes = new Counter({
  name: 'fabric_file_sweep_bytes_total',
  help: 'Bytes freed by the retention sweep',
  registers: [registry],
});

/** A gauge read when scraped; `read` returns the value now (sockets, rooms, pool). */
export function gaugeOf(name: string, help: string, read: () => number): Gauge {
  registry.removeSingleMetric(name);
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/** A stopwatch in seconds, for histograms. */
export function stopwatch(): () => number {
  const start = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - start) / 1e9;
}

// Access sweep (realtime/access-sweep.ts)
export const accessSweepLeaves = new Counter({
  name: 'fabric_realtime_access_sweep_leaves_total',
  help: 'User subscriptions the access sweep took out (a room change that never arrived), by room kind (channel or guild)',
  labelNames: ['room'] as const,
  registers: [registry],
});

export const accessSweepJoins = new Counter({
  name: 'fabric_realtime_access_sweep_joins_total',
  help: 'Guild rooms (presence) the access sweep put the sockets of a guild member into (a room change that never arrived)',
  registers: [registry],
});
