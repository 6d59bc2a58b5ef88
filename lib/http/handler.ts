import type { Principal } from '../center/client.js';
import { defaultContext, type AppContext } from '../context.js';
import { authenticateToken, tokenOf } from './auth.js';
import { errorResponse, isResponse, json } from './respond.js';
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

/** A standalone endpoint: a web Request in, a web Response out. `ctx` is optional so it can be hosted alone. */
export type Handler = ((request: Request, ctx?: AppContext) => Promise<Response>) & {
  route: { method: Method; path: string; auth: boolean; queryToken: boolean; doc?: RouteDoc };
};

/** Turns `/api/x/:id` into a matcher returning the decoded params, or null. */
export function compilePath(path: string): (pathname: string) => Record<string, string> | null {
  const names: string[] = [];
  const pattern = path.replace(/[.+*?^$()[\]{}|\\]/g, '\\$&').replace(/:(\w+)/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  const re = new RegExp(`^${pattern}/?$`);
  return (pathname) => {
    const m = re.exec(pathname);
    if (!m) return null;
    const params: Record<string, string> = {};
    try {
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
    } catch {
      return null;
    }
    return params;
  };
}

/**
 * Wraps an endpoint: matches its own path (so it needs no router), authenticates, runs it,
 * and renders any thrown error through `errorResponse`. A plain object result is sent as
 * 200 JSON; return a Response for any other status.
 */
export function defineHandler<Auth extends boolean = true>(
  spec: RouteSpec<Auth>,
  run: (input: HandlerInput<Auth>) => Promise<Response | object>,
): Handler {
  const match = compilePath(spec.path);
  const handler = async (request: Request, ctx?: AppContext): Promise<Response> => {
    try {
      const url = new URL(request.url);
      const params = match(url.pathname) ?? {};
      const context = ctx ?? (await defaultContext());
      const principal = spec.auth === false ? null : await authenticateToken(context, tokenOf(request, url, spec.queryToken ?? false));
      const result = await run({ request, url, params, ctx: context, principal: principal as HandlerInput<Auth>['principal'] });
      return isResponse(result) ? result : json(result);
    } catch (err) {
      return errorResponse(err, request);
    }
  };
  const route = { method: spec.method, path: spec.path, auth: spec.auth !== false, queryToken: spec.queryToken ?? false, doc: spec.doc };
  return Object.assign(handler, { route });
}
