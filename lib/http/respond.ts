import { randomUUID } from 'node:crypto';
import { ConfigError } from '../config.js';
import { errorBody, HttpError } from '../errors.js';
import { createLogger } from '../logger.js';
import { currentRequestId } from './request-context.js';

const log = createLogger('http');

/**
 * The Response class of the responses built here: the runtime's own, so that a handler hosted
 * alone answers with a real `Response`. The Node adapter swaps in the class it writes out in
 * one go (lib/server/adapter-response.ts, where what that relies on is written down).
 */
let ResponseClass: typeof Response = globalThis.Response;

export function useResponseClass(cls: typeof Response): void {
  ResponseClass = cls;
}

/** A response of the class in use (see `useResponseClass`). */
export const response = (body: BodyInit | null, init: ResponseInit): Response => new ResponseClass(body, init);

/**
 * A JSON response with the given status, carrying the id of the request being answered. Its
 * headers object is its own: a response's headers may be set on later (CORS). The id is set
 * here rather than only by the pipeline's last stage: a header set on a built response turns
 * the Node adapter's single `writeHead` from the headers object into a header map and a
 * `setHeaders` per response.
 */
export const json = (data: unknown, status = 200): Response => jsonText(JSON.stringify(data), status);

/** `json` for a body that is already JSON text. */
export const jsonText = (text: string, status = 200): Response => {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const requestId = currentRequestId();
  if (requestId !== undefined) headers['x-request-id'] = requestId;
  return response(text, { status, headers });
};

/** 204 with no body. */
export const noContent = () => response(null, { status: 204 });

/** Whether a handler returned a ready response (of either class) rather than data to send as JSON. */
export const isResponse = (value: unknown): value is Response => value instanceof globalThis.Response || value instanceof ResponseClass;

const DB_DOWN = new Set([
  'ECONNREFUSED',
  'PROTOCOL_CONNECTION_LOST',
  'ETIMEDOUT',
  'ER_CON_COUNT_ERROR',
  'SQLITE_BUSY',
  'EHOSTUNREACH',
  // The connection broke while a query was in flight (the server died or restarted).
  'ECONNRESET',
  'EPIPE',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  // A row lock held by another transaction past the server's lock wait: busy, not a client mistake.
  'ER_LOCK_WAIT_TIMEOUT',
]);

/** A database that does not answer: a known code, or a mysql2 error it marks fatal to the connection. */
function isDatabaseDown(err: unknown): boolean {
  const e = err as { code?: unknown; fatal?: unknown; message?: unknown } | null;
  if (typeof e?.code === 'string' && DB_DOWN.has(e.code)) return true;
  if (e?.fatal === true) return true;
  return typeof e?.message === 'string' && /connection is in closed state/.test(e.message);
}

/** The path of a request for a log line; never throws (the request target may not parse). */
function pathOf(request: Request): string {
  try {
    return new URL(request.url).pathname;
  } catch {
    return String(request.url).slice(0, 200);
  }
}

/**
 * The one place where errors become responses: HttpError as api.md says, a database that
 * does not answer as 503 `db_unavailable`, anything else logged once (with the request id)
 * and answered 500 `internal` with no internals in the body. Every error body carries the
 * id of the request being answered (lib/http/request-context.ts).
 */
export function errorResponse(err: unknown, request?: Request): Response {
  const requestId = currentRequestId() ?? randomUUID();
  const answer = (e: HttpError) => {
    const res = json(errorBody(e, requestId), e.status);
    for (const [name, value] of Object.entries(e.headers ?? {})) res.headers.set(name, value);
    return res;
  };
  if (err instanceof HttpError) return answer(err);
  if (err instanceof ConfigError) {
    // A handler hosted alone reads its configuration on its first request: the operator's
    // mistake, told in one line that names the variable (never its secret value), no stack.
    log.error('configuration invalid', { requestId, error: err.message });
    return answer(new HttpError(500, 'internal', `internal error (request ${requestId})`));
  }
  if (isDatabaseDown(err)) {
    log.warn('database unavailable', { code: (err as { code?: unknown }).code, requestId });
    return answer(new HttpError(503, 'db_unavailable', 'the database is unavailable; retry later'));
  }
  log.error('unhandled error', {
    requestId,
    method: request?.method,
    path: request ? pathOf(request) : undefined,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return answer(new HttpError(500, 'internal', `internal error (request ${requestId})`));
}

/** Sets `headers` on a response, copying it first when its headers are immutable (a fetched or redirected one). */
export function withHeaders(res: Response, headers: Readonly<Record<string, string>>): Response {
  const entries = Object.entries(headers);
  if (entries.length === 0) return res;
  try {
    // Only what differs: setting a header the response already has (the request id) costs the adapter its fast path.
    for (const [k, v] of entries) if (res.headers.get(k) !== v) res.headers.set(k, v);
    return res;
  } catch {
    const copy = response(res.body, res);
    for (const [k, v] of entries) copy.headers.set(k, v);
    return copy;
  }
}
