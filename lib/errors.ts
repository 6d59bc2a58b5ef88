import { currentRequestId } from './http/request-context.js';

/** The error codes of api.md; a typo does not compile. */
export type ErrorCode =
  | 'bad_request'
  | 'wrong_channel_type'
  | 'invalid_reference'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'channel_closed'
  | 'edit_window_expired'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'center_unavailable'
  | 'db_unavailable'
  | 'internal';

/** The one error type of the node. Thrown anywhere; rendered only by `errorResponse`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** Headers the answer carries (`Allow` on a 405, `Retry-After` on a 429). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what = 'resource') => new HttpError(404, 'not_found', `${what} not found`);
export const forbidden = (message = 'not allowed') => new HttpError(403, 'forbidden', message);
export const badRequest = (message: string, details?: unknown) => new HttpError(400, 'bad_request', message, details);
export const invalidReference = (message: string, details?: unknown) => new HttpError(400, 'invalid_reference', message, details);
export const wrongChannelType = (message = 'not available for this channel type') => new HttpError(400, 'wrong_channel_type', message);
export const channelClosed = () => new HttpError(409, 'channel_closed', 'the channel is closed');
export const editWindowExpired = (editWindowSeconds: number) => new HttpError(409, 'edit_window_expired', `messages can be edited for ${editWindowSeconds} seconds after posting`);
/** 429: over a rate limit; `Retry-After` in whole seconds, at least 1 (api.md). */
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new HttpError(429, 'rate_limited', message, undefined, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) });
/** A write that kept meeting concurrent changes of what it depends on; the client may retry. */
export const busyConflict = (what: string) => new HttpError(409, 'conflict', `${what} kept changing while this request ran; retry`);

/** How many times a write starts again after a concurrent change before it answers 409 `conflict`. */
export const CONCURRENT_CHANGE_ATTEMPTS = 5;

/** Most entries of `details` an answer lists (api.md "Errors": at most 20 invalid fields). */
export const MAX_ERROR_DETAILS = 20;

/** The JSON body of every error response (api.md "Errors"), with the id of the request being answered. */
export function errorBody(err: HttpError, requestId = currentRequestId()) {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details !== undefined ? { details: Array.isArray(err.details) ? err.details.slice(0, MAX_ERROR_DETAILS) : err.details } : {}),
      ...(requestId !== undefined ? { requestId } : {}),
    },
  };
}
