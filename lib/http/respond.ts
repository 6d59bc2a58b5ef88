import { randomUUID } from 'node:crypto';
import { errorBody, HttpError } from '../errors.js';
import { createLogger } from '../logger.js';

const log = createLogger('http');

/** A JSON response with the given status. */
export function json(data: unknown, status = 200, headers?: HeadersInit): Response {
  const h = new Headers(headers);
  h.set('content-type', 'application/json; charset=utf-8');
  return new Response(JSON.stringify(data), { status, headers: h });
}

/** 204 with no body. */
export const noContent = () => new Response(null, { status: 204 });

const DB_DOWN = new Set(['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ETIMEDOUT', 'ER_CON_COUNT_ERROR', 'SQLITE_BUSY', 'EHOSTUNREACH']);

/**
 * The one place where errors become responses: HttpError as api.md says, a database that
 * does not answer as 503 `db_unavailable`, anything else logged once (with a request id)
 * and answered 500 `internal` with no internals in the body.
 */
export function errorResponse(err: unknown, request?: Request): Response {
  if (err instanceof HttpError) return json(errorBody(err), err.status);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && DB_DOWN.has(code)) {
    log.warn('database unavailable', { code });
    return json(errorBody(new HttpError(503, 'db_unavailable', 'the database is unavailable; retry later')), 503);
  }
  const requestId = randomUUID();
  log.error('unhandled error', {
    requestId,
    method: request?.method,
    path: request ? new URL(request.url).pathname : undefined,
    error: err instanceof Error ? (err.stack ?? err.message) : String(err),
  });
  return json(errorBody(new HttpError(500, 'internal', `internal error (request ${requestId})`)), 500);
}
