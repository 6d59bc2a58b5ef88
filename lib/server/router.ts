import type { AppContext } from '../context.js';
import type { Handler } from '../http/handler.js';
import { createPipeline, type Endpoint } from '../http/pipeline.js';
import { errorResponse } from '../http/respond.js';
import { httpDuration, httpRequests, stopwatch } from '../metrics.js';

/**
 * An endpoint that records its request count and latency per status (lib/metrics.ts). The
 * children of each status are labelled once: the post path records them on every call. A
 * thrown error is rendered here, the same way the pipeline's catch stage would, to know its status.
 */
function measured(e: Endpoint): Endpoint {
  const byStatus = new Map<number, { count: { inc(): void }; latency: { observe(v: number): void } }>();
  const record = (status: number, seconds: number) => {
    let m = byStatus.get(status);
    if (!m) {
      const labels = [e.route.method, e.route.path, String(status)] as const;
      byStatus.set(status, (m = { count: httpRequests.labels(...labels), latency: httpDuration.labels(...labels) }));
    }
    m.count.inc();
    m.latency.observe(seconds);
  };
  return {
    route: e.route,
    async serve(request, params, ctx, url) {
      const elapsed = stopwatch();
      let res: Response;
      try {
        res = await e.serve(request, params, ctx, url);
      } catch (err) {
        res = errorResponse(err, request);
      }
      record(res.status, elapsed());
      return res;
    },
  };
}

/**
 * The route table on the one request pipeline (lib/http/pipeline.ts): CORS, preflight,
 * 404/405, error JSON and request ids, as for a handler hosted alone. Runtime-agnostic:
 * `fetch(request)` → Response.
 */
export function createApiRouter(routes: readonly Handler[], ctx: AppContext) {
  const pipeline = createPipeline(routes.map((h) => measured(h.endpoint)));
  return (request: Request): Promise<Response> => pipeline(request, ctx);
}
