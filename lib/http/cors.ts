/**
 * CORS (api.md "Errors" › CORS). Empty allow-list = every origin; the `null` origin
 * (file:// desktop clients) is always allowed; an allowed origin is reflected with Vary: Origin.
 */
import { response as newResponse, withHeaders } from './respond.js';

const ALLOW_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type, Range';
const EXPOSE_HEADERS = 'Content-Disposition, Content-Length, Content-Range, ETag, Accept-Ranges, Retry-After';

/** Whether `origin` may call the API. */
export function isOriginAllowed(origin: string, allowList: readonly string[]): boolean {
  return origin === 'null' || allowList.length === 0 || allowList.includes(origin);
}

/** The CORS headers for a response to a request from `origin` (none when it is not allowed). */
export function corsHeaders(origin: string | null, allowList: readonly string[]): Record<string, string> {
  if (!origin || !isOriginAllowed(origin, allowList)) return origin ? { vary: 'Origin' } : {};
  return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': EXPOSE_HEADERS };
}

/** The 204 answer to a preflight request; no token needed. */
export function preflightResponse(origin: string | null, allowList: readonly string[]): Response {
  const headers = new Headers(corsHeaders(origin, allowList));
  if (headers.has('access-control-allow-origin')) {
    headers.set('access-control-allow-methods', ALLOW_METHODS);
    headers.set('access-control-allow-headers', ALLOW_HEADERS);
    headers.set('access-control-max-age', '600');
  }
  return newResponse(null, { status: 204, headers });
}

/** Adds CORS headers to a response. */
export function withCors(res: Response, origin: string | null, allowList: readonly string[]): Response {
  return withHeaders(res, corsHeaders(origin, allowList));
}
