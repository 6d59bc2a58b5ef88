import { z } from 'zod';
import type { ErrorCode } from './errors.js';
import type { Handler } from './http/handler.js';
import type { RouteDoc } from './http/route-doc.js';

/**
 * The OpenAPI 3.1 document of the REST API, built from the route table: each handler's
 * method, path and `doc` (lib/http/route-doc.ts), whose body and query schemas are the zod
 * schemas the handler validates with, turned into JSON Schema (2020-12, what OpenAPI 3.1
 * uses) by zod itself. Served at GET /api/openapi.json and written to docs/openapi.json by
 * `npm run build`.
 */

type JsonSchema = Record<string, unknown>;

/** The input side of a zod schema (what a client sends), without the `$schema` line. */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
}

/** Every error code of api.md, with what it means (a code missing here does not compile). */
const CODE_MEANING: Record<ErrorCode, string> = {
  bad_request: 'the input is malformed or breaks a rule; `details` says what',
  wrong_channel_type: 'the channel type does not have this feature',
  invalid_reference: 'an id in the input names nothing usable here',
  unauthorized: 'no token, or not an active one',
  forbidden: 'the caller may see this but not do this',
  not_found: 'no such thing, or not visible to the caller',
  method_not_allowed: 'the path exists with other methods (see `Allow`)',
  channel_closed: 'the channel is closed to writes',
  edit_window_expired: 'the message can no longer be edited',
  conflict: 'a concurrent change or a rule of the current state; retry or change the request',
  payload_too_large: 'the body or a part of it is over its limit',
  unsupported_media_type: 'the body is not of the expected content type',
  center_unavailable: 'Center does not answer; retry later',
  db_unavailable: 'the database does not answer; retry later',
  rate_limited: 'too many requests or events for now; retry after `Retry-After` seconds',
  internal: 'a failure of the node; the message has the request id',
};
const ALL_CODES = Object.keys(CODE_MEANING) as ErrorCode[];

const errorSchema = (codes: readonly ErrorCode[] = ALL_CODES): JsonSchema => ({
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: [...codes], description: codes.map((c) => `\`${c}\`: ${CODE_MEANING[c]}`).join('; ') },
        message: { type: 'string', description: 'for people; do not parse' },
        details: { description: 'what was wrong with the input, when known' },
        requestId: { type: 'string', description: 'the x-request-id of the request' },
      },
    },
  },
});

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  204: 'No Content',
  206: 'Partial Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** `/api/x/:id` → `/api/x/{id}`. */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}');

const operationId = (method: string, path: string) =>
  method.toLowerCase() +
  path
    .replace(/^\/api/, '')
    .split('/')
    .filter(Boolean)
    .map((part) => (part.startsWith(':') ? `By${part[1].toUpperCase()}${part.slice(2)}` : part.replace(/(^|[-.])(\w)/g, (_, __, c: string) => c.toUpperCase())))
    .join('');

function queryParameters(query: z.ZodType): JsonSchema[] {
  const schema = jsonSchemaOf(query) as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(schema.properties ?? {}).map(([name, s]) => ({
    name,
    in: 'query',
    required: schema.required?.includes(name) ?? false,
    schema: s,
  }));
}

function responses(doc: RouteDoc, path: string): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [status, what] of Object.entries(doc.success)) {
    const isJson = what.startsWith('{');
    out[status] = {
      description: `${STATUS_TEXT[Number(status)] ?? status}${what ? `: ${what}` : ''}`,
      ...(isJson ? { content: { 'application/json': { schema: { type: 'object' } } } } : {}),
    };
  }
  const errors: Record<number, ErrorCode[]> = { ...(doc.errors as Record<number, ErrorCode[]>) };
  // Every endpoint past /api/health may meet a database that does not answer, and any may fail.
  if (path !== '/api/health') errors[503] = [...new Set([...(errors[503] ?? []), 'db_unavailable' as const])];
  // Every body is bounded and typed before it is read (api.md): over its limit 413, compressed
  // or of another content type 415, whatever the route lists.
  if (doc.body || doc.rawBody) {
    errors[413] = [...new Set([...(errors[413] ?? []), 'payload_too_large' as const])];
    errors[415] = [...new Set([...(errors[415] ?? []), 'unsupported_media_type' as const])];
  }
  errors[500] = ['internal'];
  for (const [status, codes] of Object.entries(errors)) {
    out[status] = {
      description: `${STATUS_TEXT[Number(status)] ?? status}: ${codes.map((c) => `\`${c}\``).join(', ')}`,
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      'x-error-codes': codes,
    };
  }
  return out;
}

/** One operation of the document: from the handler's declaration (method, path, access policy, schemas, doc). */
function operation(h: Handler): JsonSchema {
  const { method, path, auth, doc } = h.route;
  const queryToken = h.route.queryToken ?? false;
  const pathParams = [...path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  const parameters = [...pathParams, ...(doc.query ? queryParameters(doc.query) : [])];
  if (queryToken) parameters.push({ name: 'access_token', in: 'query', required: false, schema: { type: 'string' } });
  const requestBody = doc.body
    ? { required: true, content: { 'application/json': { schema: jsonSchemaOf(doc.body) } } }
    : doc.rawBody
      ? { required: true, description: doc.rawBody.description, content: { [doc.rawBody.contentType]: { schema: { type: 'object' } } } }
      : undefined;
  return {
    tags: [doc.tag],
    summary: doc.summary,
    operationId: operationId(method, path),
    ...(doc.who ? { description: `Who: ${doc.who}.` } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(requestBody ? { requestBody } : {}),
    responses: responses(doc, path),
    security: auth ? (queryToken ? [{ bearer: [] }, { accessToken: [] }] : [{ bearer: [] }]) : [],
  };
}

export interface OpenApiOptions {
  version: string;
  /** Base URL of the node, when known (the served document names its own). */
  serverUrl?: string;
}

/** The OpenAPI 3.1 document of `routes`, in route-table order. */
export function buildOpenApi(routes: readonly Handler[], opts: OpenApiOptions): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const h of routes) {
    const key = openApiPath(h.route.path);
    (paths[key] ??= {})[h.route.method.toLowerCase()] = operation(h);
  }
  const tags = [...new Set(routes.map((h) => h.route.doc.tag))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fabric guild node REST API',
      version: opts.version,
      description:
        'Guilds, channels, messages, files, canvases, slash commands and the turn engine of a Fabric guild node. ' +
        'Every call but health, ready and this reference needs `Authorization: Bearer <token>` (a user or guild token issued by Center). ' +
        'Errors are `{"error": {"code", "message", "details?", "requestId?"}}`; every response carries `x-request-id`. ' +
        'Realtime events (socket.io), their acks and the wake and turn rules are in the repository: docs/contract/realtime.md, docs/contract/turns.md.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a Center user or guild token' },
        accessToken: { type: 'apiKey', in: 'query', name: 'access_token', description: 'file downloads only' },
      },
      schemas: { Error: errorSchema() },
    },
  };
}
