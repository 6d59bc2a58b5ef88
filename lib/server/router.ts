import { Router } from 'itty-router';
import type { AppContext } from '../context.js';
import { HttpError } from '../errors.js';
import type { Handler } from '../http/handler.js';
import { preflightResponse, withCors } from '../http/cors.js';
import { errorResponse } from '../http/respond.js';
import { requestIdOf, runWithRequestId } from '../http/request-context.js';
import { httpDuration, httpRequests, stopwatch } from '../metrics.js';

/** Per route: the request counter and latency histogram of each status, labelled once (the post path records them). */
function routeMetrics(method: string, route: string) {
  const byStatus = new Map<number, { count: { inc(): void }; latency: { observe(v: number): void } }>();
  return (status: number, seconds: number) => {
    let m = byStatus.get(status);
    if (!m) {
      const labels = [method, route, String(status)] as const;
      byStatus.set(status, (m = { count: httpRequests.labels(...labels), latency: httpDuration.labels(...labels) }));
    }
    m.count.inc();
    m.latency.observe(seconds);
  };
}

/**
 * Mounts the route table on itty-router and adds what is common to every route: CORS,
 * preflight, 404/405 for unknown routes. Runtime-agnostic: `fetch(request)` → Response.
 */
export function createApiRouter(routes: readonly Handler[], ctx: AppContext) {
  const router = Router<Request & { params: Record<string, string> }, [AppContext]>();
  for (const h of routes) {
    const method = h.route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
    const record = routeMetrics(h.route.method, h.route.path);
    router[method](h.route.path, async (req: Request, c: AppContext) => {
      const elapsed = stopwatch();
      const res = await h(req, c);
      record(res.status, elapsed());
      return res;
    });
  }
  const known = routes.map((h) => ({ method: h.route.method, re: new RegExp(`^${h.route.path.replace(/:\w+/g, '[^/]+')}/?$`) }));
  const unmatched = routeMetrics('other', 'unmatched');
  // Every line a request causes carries its id (lib/logger.ts); the client gets it back in x-request-id.
  return function fetch(request: Request): Promise<Response> {
    const requestId = requestIdOf(request);
    return runWithRequestId(requestId, async () => {
      const response = await route(request);
      response.headers.set('x-request-id', requestId);
      return response;
    });
  };
  async function route(request: Request): Promise<Response> {
    const origin = request.headers.get('origin');
    const allow = ctx.config.corsOrigins;
    if (request.method === 'OPTIONS') return preflightResponse(origin, allow);
    let response: Response | undefined;
    try {
      response = await router.fetch(request as never, ctx);
    } catch (err) {
      response = errorResponse(err, request);
    }
    if (!response) {
      const path = new URL(request.url).pathname;
      const pathKnown = known.some((k) => k.re.test(path));
      response = errorResponse(
        pathKnown ? new HttpError(405, 'bad_request', `method ${request.method} not allowed here`) : new HttpError(404, 'not_found', 'no such endpoint'),
        request,
      );
      unmatched(response.status, 0);
    }
    return withCors(response, origin, allow);
  }
}
