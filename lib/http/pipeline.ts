/**
 * The one request pipeline: what every answer of the REST API goes through, whether the
 * router hosts the whole route table or a handler is hosted alone (then the table is that one
 * route). Stages:
 * - a request target that does not parse as a URL → 400;
 * - preflight `OPTIONS` → 204, no token;
 * - the routes, first match in table order, by patterns itty-router compiles from the paths
 *   (the only path matcher); HEAD where only GET is routed answers as the GET without the
 *   body; no match: a known path with another method → 405
 *   `method_not_allowed` with `Allow`, else 404;
 * - any thrown error → the error JSON (`errorResponse`);
 * - CORS headers and `x-request-id` on every response.
 * The dispatch is this module's own, over itty-router's route list: its `fetch` parsed the
 * URL and the query again per request and took five promise hops, a few percent of the post
 * path (docs/performance.md, series 22).
 */
import { Router } from 'itty-router';
import type { AppContext } from '../context.js';
import { HttpError, notFound } from '../errors.js';
import { preflightResponse, withCors } from './cors.js';
import type { Method, RouteSpec } from './handler.js';
import { requestIdFor, runWithRequestId } from './request-context.js';
import { errorResponse, response, withHeaders } from './respond.js';

/** One route as the pipeline mounts it: its spec, and what answers a request matched to it. */
export interface Endpoint {
  route: RouteSpec;
  /** `url` is the request's URL, parsed once by the pipeline. */
  serve(request: Request, params: Record<string, string>, ctx: AppContext, url: URL): Promise<Response>;
}

/** Percent-decoded path parameters; a malformed escape is a path that names nothing (404). */
function decodeParams(raw: Record<string, string>): Record<string, string> {
  const params: Record<string, string> = {};
  try {
    for (const name in raw) params[name] = raw[name].includes('%') ? decodeURIComponent(raw[name]) : raw[name];
  } catch {
    throw new HttpError(404, 'not_found', 'no such endpoint');
  }
  return params;
}

export interface PipelineOptions {
  /** The context when the caller passes none (a handler hosted alone builds it from the environment); with `configContext`. */
  defaultContext?: () => Promise<AppContext>;
  /**
   * When the caller passes no context: the context of the configuration alone (no database). It answers
   * what needs no database (a preflight, a path or method not served here) and gives the
   * CORS headers of every answer, so a handler hosted alone whose database is away still
   * answers those as the router does, and its 503 can be read by a browser.
   */
  configContext?: () => Promise<AppContext>;
  /**
   * Every route of the API (method and path), for a handler hosted alone: on a path its own
   * route matches, its 405 names in `Allow` what the routed server would allow there.
   */
  apiRoutes?: readonly Pick<RouteSpec, 'method' | 'path'>[];
}

/** `Allow` lists methods in this order, whatever the order of the routes. */
const METHOD_ORDER: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

type Mounted = ReturnType<typeof Router>['routes'];

/** The methods of `routes` whose path matches `path`, in METHOD_ORDER, without repeats; HEAD wherever GET is (see `route`). */
function methodsAt(routes: Mounted, path: string): string[] {
  const methods = new Set(routes.filter(([, pattern]) => pattern.test(path)).map(([method]) => method as string));
  if (methods.has('GET')) methods.add('HEAD');
  return METHOD_ORDER.filter((m) => methods.has(m));
}

/**
 * The answer to a HEAD request: the status and headers of the GET's (or of the error), no
 * body. Its `Content-Length` is the GET's (RFC 9110 §9.3.2), set explicitly: a runtime sends 0
 * for a body-less answer (Bun.serve does). A body of unknown length is read for it; one with a
 * length is cancelled unread.
 */
async function withoutBody(res: Response): Promise<Response> {
  let length = res.headers.get('content-length');
  if (length === null && res.body) length = String((await res.arrayBuffer()).byteLength);
  else void res.body?.cancel().catch(() => undefined);
  const head = response(null, { status: res.status, statusText: res.statusText, headers: res.headers });
  if (length !== null) head.headers.set('content-length', length);
  return head;
}

/** The request's URL; one that does not parse is a 400. */
function parseTarget(target: string): URL {
  try {
    return new URL(target);
  } catch {
    throw new HttpError(400, 'bad_request', 'malformed request target');
  }
}

/** The pipeline over `endpoints`: `fetch(request, ctx?)` → Response, whatever the request. */
export function createPipeline(endpoints: readonly Endpoint[], opts: PipelineOptions = {}) {
  const router = Router();
  for (const e of endpoints) router[e.route.method.toLowerCase() as Lowercase<Method>](e.route.path); // compiles its pattern
  const mounted = [...router.routes];
  const byMethod = new Map<string, { pattern: RegExp; endpoint: Endpoint }[]>();
  mounted.forEach(([method, pattern], i) => {
    if (!byMethod.has(method as string)) byMethod.set(method as string, []);
    byMethod.get(method as string)!.push({ pattern, endpoint: endpoints[i] });
  });
  // The rest of the API, matched by the same matcher, only to name what it allows.
  const api = Router();
  for (const r of opts.apiRoutes ?? []) api[r.method.toLowerCase() as Lowercase<Method>](r.path, () => undefined);

  function notRouted(request: Request, path: string): HttpError {
    if (methodsAt(mounted, path).length === 0) return notFound('endpoint');
    const allow = methodsAt([...mounted, ...api.routes], path);
    return new HttpError(405, 'method_not_allowed', `${request.method} is not allowed here; allowed: ${allow.join(', ')}`, undefined, {
      allow: [...allow, 'OPTIONS'].join(', '),
    });
  }

  /**
   * Not async (a promise fewer per request): what it throws is caught where it is awaited.
   * `full`, hosted alone: builds the context a matched route is served with (`ctx` has the
   * configuration only).
   */
  function route(request: Request, url: URL, ctx: AppContext, full?: () => Promise<AppContext>): Response | Promise<Response> {
    if (request.method === 'OPTIONS') return preflightResponse(request.headers.get('origin'), ctx.config.corsOrigins);
    const served = serveAs(request.method, request, url, ctx, full);
    if (served) return served;
    // HEAD where only GET is routed (RFC 9110: a general-purpose server supports HEAD): the
    // GET runs (same checks, same answer); its body is left out below, as every HEAD's.
    const asGet = request.method === 'HEAD' ? serveAs('GET', request, url, ctx, full) : undefined;
    if (asGet) return asGet;
    throw notRouted(request, url.pathname);
  }

  /** The first route of `method` whose pattern matches the path, serving the request; undefined when none matches. */
  function serveAs(method: string, request: Request, url: URL, ctx: AppContext, full?: () => Promise<AppContext>): Promise<Response> | undefined {
    for (const { pattern, endpoint } of byMethod.get(method) ?? []) {
      const match = pattern.exec(url.pathname);
      if (!match) continue;
      const params = decodeParams(match.groups ?? {});
      return full ? full().then((built) => endpoint.serve(request, params, built, url)) : endpoint.serve(request, params, ctx, url);
    }
    return undefined;
  }

  return function fetch(request: Request, given?: AppContext): Promise<Response> {
    const requestId = requestIdFor(request.headers);
    return runWithRequestId(requestId, async () => {
      let ctx = given;
      let res: Response;
      try {
        const url = parseTarget(request.url);
        if (ctx) res = await route(request, url, ctx);
        else {
          ctx = await opts.configContext!();
          res = await route(request, url, ctx, opts.defaultContext!);
        }
      } catch (err) {
        res = errorResponse(err, request);
      }
      // A HEAD's answer, success or error, has the headers of the GET's and no body.
      if (request.method === 'HEAD') res = await withoutBody(res);
      if (ctx) res = withCors(res, request.headers.get('origin'), ctx.config.corsOrigins);
      return withHeaders(res, { 'x-request-id': requestId });
    });
  };
}
