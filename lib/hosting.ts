import { configContext, defaultContext, settleDefaultContext } from './context.js';
import type { Handler, Method } from './http/handler.js';
import { createPipeline } from './http/pipeline.js';

/**
 * The hosting contract of a handler bundle (docs/edge-hosting.md). A bundle's default export
 * is a fetch-style function, web `Request` in, `Response` out, built from the environment on
 * first use. Its events are handed over to the realtime process after the response is
 * built; a host that freezes or ends the instance once the response is out must first wait
 * for that hand-over, in either of two ways:
 *
 * - pass an execution context as second argument, `{ waitUntil(promise) }` (the shape of
 *   Cloudflare Workers' and Vercel's): the bundle hands it the hand-over of this request;
 * - or await the bundle's `settled()` export after the response.
 *
 * `Bun.serve` passes its Server as second argument: it has no `waitUntil`, and a process that
 * stays up needs none.
 */
export interface ExecutionContext {
  waitUntil(promise: Promise<unknown>): void;
}

export type HostedHandler = ((request: Request, context?: unknown) => Promise<Response>) & { route: Handler['route'] };

const hasWaitUntil = (context: unknown): context is ExecutionContext =>
  typeof context === 'object' && context !== null && typeof (context as Partial<ExecutionContext>).waitUntil === 'function';

/**
 * A handler as a bundle exports it: its context from the environment, its background work
 * given to `waitUntil`. `apiRoutes` (every route of the API as `METHOD /path`, written in by
 * the build) lets its 405 name in `Allow` what the routed server allows on the same path.
 */
export function hosted(handler: Handler, apiRoutes: readonly string[] = []): HostedHandler {
  const routes = apiRoutes.map((r) => ({ method: r.slice(0, r.indexOf(' ')) as Method, path: r.slice(r.indexOf(' ') + 1) }));
  const pipeline = createPipeline([handler.endpoint], {
    defaultContext: handler.route.withoutDatabase ? configContext : defaultContext,
    configContext,
    apiRoutes: routes,
  });
  const fetch = async (request: Request, context?: unknown): Promise<Response> => {
    const response = await pipeline(request);
    if (hasWaitUntil(context)) context.waitUntil(settled());
    return response;
  };
  return Object.assign(fetch, { route: handler.route });
}

/** Resolves once every event handed over so far was delivered (or given up on); never rejects. */
export function settled(): Promise<void> {
  return settleDefaultContext().catch(() => undefined);
}
