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
    /** Headers the answer carries (e.g. `Allow` on a 405). */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what = 'resource') => new HttpError(404, 'not_found', `${what} not found`);
export const forbidden = (message = 'not allowed') => new HttpError(403, 'forbidden', message);
export const badRequest = (message: string, details?: unknown) => new HttpError(400, 'bad_request', message, details);
export const invalidReference = (message: string, details?: unknown) =>
  new HttpError(400, 'invalid_reference', message, details);
export const wrongChannelType = (message = 'not available for this channel type') =>
  new HttpError(400, 'wrong_channel_type', message);
export const channelClosed = () => new HttpError(409, 'channel_closed', 'the channel is closed');
/** A write that kept meeting concurrent changes of what it depends on; the client may retry. */
export const busyConflict = (what: string) => new HttpError(409, 'conflict', `${what} kept changing while this request ran; retry`);

/** How many times a write starts again after a concurrent change before it answers 409 `conflict`. */
export const CONCURRENT_CHANGE_ATTEMPTS = 5;

/** The JSON body of every error response (api.md "Errors"), with the id of the request being answered. */
export function errorBody(err: HttpError, requestId = currentRequestId()) {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.details !== undefined ? { details: err.details } : {}),
      ...(requestId !== undefined ? { requestId } : {}),
    },
  };
}
