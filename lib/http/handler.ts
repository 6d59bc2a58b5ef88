import type { z } from 'zod';
import type { Principal } from '../center/client.js';
import { configContext, defaultContext, type AppContext } from '../context.js';
import type { AccessPolicy } from './access-policy.js';
import { authenticateToken, tokenOf } from './auth.js';
import { createPipeline, type Endpoint } from './pipeline.js';
import { isResponse, json } from './respond.js';
import type { RouteDoc } from './route-doc.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

/** A route as the pipeline mounts it and the API reference (lib/openapi.ts) lists it. */
export interface RouteSpec {
  method: Method;
  /** itty-router style path, e.g. `/api/guilds/:guildId`. */
  path: string;
  /** Whether a token is required (from the access policy). */
  auth: boolean;
  /** Accept `?access_token=` as well as the Bearer header (file downloads only). */
  queryToken?: boolean;
  /** Runs on the configuration alone: hosted alone it opens no database (liveness answers while the database is away). */
  withoutDatabase?: boolean;
  /** The endpoint's entry in the API reference: its doc, with `who`, `body` and `query` from the declaration. */
  doc: RouteDoc;
}

type Schema = z.ZodType | undefined;
type Parsed<S extends Schema> = S extends z.ZodType ? z.output<S> : undefined;

/** What the access policy resolved: the caller and its standing towards what the endpoint is about. */
export interface Resolved<P extends Principal | null, A> {
  request: Request;
  url: URL;
  params: Record<string, string>;
  ctx: AppContext;
  principal: P;
  access: A;
}

/** What `run` receives: the resolved access, the parsed and validated query and body. */
export interface HandlerInput<P extends Principal | null, A, B extends Schema, Q extends Schema> extends Resolved<P, A> {
  body: Parsed<B>;
  query: Parsed<Q>;
  /** The JSON text `body` was parsed from, for an endpoint declared with `keepBodyText`. */
  bodyText?: string;
}

/**
 * An endpoint, declared: method and path, who may call it (`access`, lib/http/access-policy.ts),
 * its query and JSON body schemas, and `run`. The pipeline runs the checks in api.md's order:
 * the token (401); the access policy (404, 403, 409), then `guard`; then the query and the
 * body (400, 413, 415); then `run`. The policy is about the id its `target` names: a path
 * parameter, else a field of the query (validated first) or of the body (read first; the
 * policy then answers before the rest of the body is validated, so an unknown guild is 404
 * whatever else the body holds).
 */
export interface HandlerSpec<P extends Principal | null, A, B extends Schema, Q extends Schema> {
  method: Method;
  path: string;
  access: AccessPolicy<P, A>;
  /**
   * `on-refusal`: `run` makes the policy's checks itself (on a hot path that can skip them);
   * the pipeline resolves the policy only when the body is refused, so that 404/403/409 still
   * answer before 400/413/415. `run` then gets no `access` and the unnarrowed principal.
   */
  accessCheck?: 'first' | 'on-refusal';
  /** A rule of this endpoint alone that must answer before its input is read (403/409). */
  guard?: (input: Resolved<P, A>) => void | Promise<void>;
  query?: Q;
  body?: B;
  /**
   * `run` also gets the body's text (`bodyText`), for values it must keep exactly as sent. Not
   * with a policy whose target is in the body.
   */
  keepBodyText?: boolean;
  /** The JSON body limit, when not the 1 MiB of api.md. */
  bodyLimit?: (ctx: AppContext) => number;
  /** Accept `?access_token=` as well as the Bearer header (file downloads only). */
  queryToken?: boolean;
  /** `run` uses `ctx.config` and `ctx.version` only: hosted alone, no database is opened for it. */
  withoutDatabase?: boolean;
  /** The API reference entry; `who` defaults to the policy's, `body` and `query` are the schemas above. */
  doc: Omit<RouteDoc, 'who' | 'body' | 'query'> & { who?: string };
  /** A plain object result is sent as 200 JSON; return a Response for any other status. */
  run: (input: HandlerInput<P, A, B, Q>) => Promise<Response | object>;
}

/**
 * A standalone endpoint: a web Request in, a web Response out, through the same pipeline as
 * the router (lib/http/pipeline.ts) with this one route. `ctx` is optional so it can be
 * hosted alone. `endpoint` is what the router mounts.
 */
export type Handler = ((request: Request, ctx?: AppContext) => Promise<Response>) & {
  route: RouteSpec;
  endpoint: Endpoint;
};

/** Where the policy's target id is read from. */
export type TargetSource = 'none' | 'path' | 'query' | 'body';

/** The field `name` of an object schema, if it has one. */
export const fieldOf = (schema: Schema, name: string): z.ZodType | undefined => (schema as { shape?: Record<string, z.ZodType> } | undefined)?.shape?.[name];

function targetSource(spec: { path: string; access: AccessPolicy<never, unknown>; query?: Schema; body?: Schema }): TargetSource {
  const target = spec.access.target;
  if (!target) return 'none';
  if (spec.path.split('/').includes(`:${target}`)) return 'path';
  if (fieldOf(spec.query, target)) return 'query';
  if (fieldOf(spec.body, target)) return 'body';
  throw new Error(`${spec.path}: access policy ${spec.access.name} needs ${target} in the path, the query or the body`);
}

/** Reading the query and the body (zod, bounded JSON): loaded by the first endpoint that has input to read. */
let inputModule: Promise<typeof import('./handler-input.js')> | undefined;
let inputLoaded: typeof import('./handler-input.js') | undefined;
const loadInput = () => (inputModule ??= import('./handler-input.js').then((m) => (inputLoaded = m)));

/** Declares an endpoint (see HandlerSpec). Thrown errors are rendered by the pipeline's catch stage. */
export function defineHandler<P extends Principal | null, A, B extends Schema = undefined, Q extends Schema = undefined>(spec: HandlerSpec<P, A, B, Q>): Handler {
  const policy = spec.access;
  const source = targetSource(spec as never);
  const deferred = spec.accessCheck === 'on-refusal';
  if (spec.keepBodyText && (source === 'body' || !spec.body)) throw new Error(`${spec.path}: keepBodyText needs a body and a policy whose target is not in it`);
  if (deferred && (source !== 'path' || !spec.body)) throw new Error(`${spec.path}: accessCheck 'on-refusal' needs a body and the policy's target in the path`);
  const route: RouteSpec = {
    method: spec.method,
    path: spec.path,
    auth: policy.auth,
    ...(spec.queryToken ? { queryToken: true } : {}),
    ...(spec.withoutDatabase ? { withoutDatabase: true } : {}),
    // eslint-disable-next-line no-restricted-syntax -- once per endpoint, when it is declared
    doc: { ...spec.doc, who: spec.doc.who ?? policy.who, ...(spec.body ? { body: spec.body } : {}), ...(spec.query ? { query: spec.query } : {}) },
  };

  const endpoint: Endpoint = {
    route,
    async serve(request, params, ctx, url) {
      const authenticated = policy.auth ? await authenticateToken(ctx, tokenOf(request, url, spec.queryToken ?? false)) : null;
      const input = { request, url, params, ctx, principal: authenticated as P, access: undefined as A } as HandlerInput<P, A, B, Q>;
      const resolve = async (id: string) => {
        const resolved = await policy.resolve(ctx, authenticated, id);
        input.principal = resolved.principal;
        input.access = resolved.access;
        await spec.guard?.(input);
      };
      if (!deferred && (source === 'none' || source === 'path')) await resolve(source === 'path' ? params[policy.target!] : '');
      if (spec.query || spec.body) {
        const from = deferred ? 'on-refusal' : source;
        // Once loaded, without an await on the module: a promise hop per request saved.
        await (inputLoaded ?? (await loadInput())).readInput(spec as HandlerSpec<P, A, z.ZodType, z.ZodType>, input as HandlerInput<P, A, z.ZodType, z.ZodType>, from, resolve);
      }
      const result = await spec.run(input);
      return isResponse(result) ? result : json(result);
    },
  };
  const pipeline = createPipeline([endpoint], { defaultContext: spec.withoutDatabase ? configContext : defaultContext, configContext });
  const handler = (request: Request, ctx?: AppContext) => pipeline(request, ctx);
  return Object.assign(handler, { route, endpoint });
}
