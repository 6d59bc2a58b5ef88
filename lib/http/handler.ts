import type { Principal } from '../center/client.js';
import { defaultContext, type AppContext } from '../context.js';
import { authenticateToken, tokenOf } from './auth.js';
import { createPipeline, type Endpoint } from './pipeline.js';
import { isResponse, json } from './respond.js';
import type { RouteDoc } from './route-doc.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export interface RouteSpec<Auth extends boolean> {
  method: Method;
  /** itty-router style path, e.g. `/api/guilds/:guildId`. */
  path: string;
  /** Whether a token is required (default true). */
  auth?: Auth;
  /** Accept `?access_token=` as well as the Bearer header (file downloads only). */
  queryToken?: boolean;
  /** The endpoint's entry in the API reference (lib/openapi.ts). */
  doc?: RouteDoc;
}

export interface HandlerInput<Auth extends boolean> {
  request: Request;
  url: URL;
  params: Record<string, string>;
  ctx: AppContext;
  principal: Auth extends false ? null : Principal;
}

/**
 * A standalone endpoint: a web Request in, a web Response out, through the same pipeline as
 * the router (lib/http/pipeline.ts) with this one route. `ctx` is optional so it can be
 * hosted alone. `endpoint` is what the router mounts.
 */
export type Handler = ((request: Request, ctx?: AppContext) => Promise<Response>) & {
  route: RouteSpec<boolean>;
  endpoint: Endpoint;
};

/**
 * Declares an endpoint: the pipeline matches its method and path, then this authenticates
 * and runs it. A plain object result is sent as 200 JSON; return a Response for any other
 * status. Thrown errors are rendered by the pipeline's catch stage.
 */
export function defineHandler<Auth extends boolean = true>(
  spec: RouteSpec<Auth>,
  run: (input: HandlerInput<Auth>) => Promise<Response | object>,
): Handler {
  const endpoint: Endpoint = {
    route: spec,
    async serve(request, params, ctx) {
      const url = new URL(request.url);
      const principal = spec.auth === false ? null : await authenticateToken(ctx, tokenOf(request, url, spec.queryToken ?? false));
      const result = await run({ request, url, params, ctx, principal: principal as HandlerInput<Auth>['principal'] });
      return isResponse(result) ? result : json(result);
    },
  };
  const pipeline = createPipeline([endpoint], { defaultContext });
  const handler = (request: Request, ctx?: AppContext) => pipeline(request, ctx);
  return Object.assign(handler, { route: spec, endpoint });
}
