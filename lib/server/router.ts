import { Router } from 'itty-router';
import type { AppContext } from '../context.js';
import { HttpError } from '../errors.js';
import type { Handler } from '../http/handler.js';
import { preflightResponse, withCors } from '../http/cors.js';
import { errorResponse } from '../http/respond.js';

/**
 * Mounts the route table on itty-router and adds what is common to every route: CORS,
 * preflight, 404/405 for unknown routes. Runtime-agnostic: `fetch(request)` → Response.
 */
export function createApiRouter(routes: readonly Handler[], ctx: AppContext) {
  const router = Router<Request & { params: Record<string, string> }, [AppContext]>();
  for (const h of routes) {
    const method = h.route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete' | 'head';
    router[method](h.route.path, (req: Request, c: AppContext) => h(req, c));
  }
  const known = routes.map((h) => ({ method: h.route.method, re: new RegExp(`^${h.route.path.replace(/:\w+/g, '[^/]+')}/?$`) }));
  return async function fetch(request: Request): Promise<Response> {
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
    }
    return withCors(response, origin, allow);
  };
}
