import type { AppContext } from '../context.js';
import type { Handler } from '../http/handler.js';
import { createPipeline } from '../http/pipeline.js';

/**
 * The route table on the one request pipeline (lib/http/pipeline.ts): CORS, preflight,
 * 404/405, error JSON and request ids, as for a handler hosted alone. Runtime-agnostic:
 * `fetch(request)` → Response.
 */
export function createApiRouter(routes: readonly Handler[], ctx: AppContext) {
  const pipeline = createPipeline(routes.map((h) => h.endpoint));
  return (request: Request): Promise<Response> => pipeline(request, ctx);
}
