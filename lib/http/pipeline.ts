/**
 * The one request pipeline, on itty-router: what every answer of the REST API goes through,
 * whether the router hosts the whole route table or a handler is hosted alone (then the
 * table is that one route). Stages:
 * - before: preflight `OPTIONS` → 204, no token;
 * - the routes, matched by itty-router (the only path matcher), then one catch-all: a known
 *   path with another method → 405 `method_not_allowed` with `Allow`, else 404;
 * - catch: any thrown error → the error JSON (`errorResponse`);
 * - finally: CORS headers and `x-request-id` on every response.
 * Around it: the request id (lib/http/request-context.ts) and a request target that does not
 * parse as a URL (400; itty-router would throw before its catch stage).
 */
import { Router } from 'itty-router';
import type { AppContext } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import { preflightResponse, withCors } from './cors.js';
import type { Method, RouteSpec } from './handler.js';
import { currentRequestId, requestIdFor, runWithRequestId } from './request-context.js';
import { errorResponse, withHeaders } from './respond.js';

/** One route as the pipeline mounts it: its spec, and what answers a request matched to it. */
export interface Endpoint {
  route: RouteSpec;
  serve(request: Request, params: Record<string, string>, ctx: AppContext): Promise<Response>;
}

type RoutedRequest = Request & { params: Record<string, string> };

/** Percent-decoded path parameters; a malformed escape is a path that names nothing (404). */
function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  try {
    for (const [name, value] of Object.entries(raw)) params[name] = decodeURIComponent(value);
  } catch {
    throw new HttpError(404, 'not_found', 'no such endpoint');
  }
  return params;
}

export interface PipelineOptions {
  /** The context when the caller passes none (a handler hosted alone builds it from the environment). */
  defaultContext?: () => Promise<AppContext>;
  /**
   * Every route of the API (method and path), for a handler hosted alone: on a path its own
   * route matches, its 405 names in `Allow` what the routed server would allow there.
   */
  apiRoutes?: readonly Pick<RouteSpec, 'method' | 'path'>[];
}

/** `Allow` lists methods in this order, whatever the order of the routes. */
const METHOD_ORDER: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

type Mounted = ReturnType<typeof Router>['routes'];

/** The methods of `routes` whose path matches `path`, in METHOD_ORDER, without repeats. */
function methodsAt(routes: Mounted, path: string): string[] {
  const methods = new Set(routes.filter(([, pattern]) => pattern.test(path)).map(([method]) => method as string));
  return METHOD_ORDER.filter((m) => methods.has(m));
}

/** The pipeline over `endpoints`: `fetch(request, ctx?)` → Response, whatever the request. */
export function createPipeline(endpoints: readonly Endpoint[], opts: PipelineOptions = {}) {
  const router = Router<RoutedRequest, [AppContext]>({
    before: [(request, ctx) => (request.method === 'OPTIONS' ? preflightResponse(request.headers.get('origin'), ctx.config.corsOrigins) : undefined)],
    catch: (err, request) => errorResponse(err, request),
    finally: [
      (res: Response, request, ctx) => withCors(res, request.headers.get('origin'), ctx.config.corsOrigins),
      (res: Response) => withHeaders(res, { 'x-request-id': currentRequestId() ?? '' }),
    ],
  });
  for (const e of endpoints) {
    const method = e.route.method.toLowerCase() as Lowercase<Method>;
    router[method](e.route.path, (request, ctx) => e.serve(request, decodeParams(request.params), ctx));
  }
  const mounted = [...router.routes];
  // The rest of the API, matched by the same matcher, only to name what it allows.
  const api = Router();
  for (const r of opts.apiRoutes ?? []) api[r.method.toLowerCase() as Lowercase<Method>](r.path, () => undefined);
  router.all('*', (request) => {
    const path = new URL(request.url).pathname;
    if (methodsAt(mounted, path).length === 0) throw notFound('endpoint');
    const allow = methodsAt([...mounted, ...api.routes], path);
    throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed here; allowed: ${allow.join(', ')}`, undefined, {
      allow: [...allow, 'OPTIONS'].join(', '),
    });
  });

  return function fetch(request: Request, ctx?: AppContext): Promise<Response> {
    const requestId = requestIdFor(request.headers);
    return runWithRequestId(requestId, async () => {
      try {
        if (!URL.canParse(request.url)) throw new HttpError(400, 'bad_request', 'malformed request target');
        return await router.fetch(request as RoutedRequest, ctx ?? (await opts.defaultContext!()));
      } catch (err) {
        return withHeaders(errorResponse(err, request), { 'x-request-id': requestId });
      }
    });
  };
}
