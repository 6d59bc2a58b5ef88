/**
 * engine.io's refusals of a request on the realtime path (an unknown transport or session id,
 * a handshake that is not a GET, an unsupported protocol version, an origin not allowed…)
 * answered with the API's error JSON and a request id, like every other answer of the node
 * (api.md "Errors"), instead of engine.io's `{"code":0,"message":"Transport unknown"}` or, on a
 * websocket upgrade, a text/html line.
 *
 * Through engine.io's public `connection_error` event, which it emits just before writing its
 * own answer; that answer is skipped for a response already sent ("a middleware may have
 * already committed the response") and for a connection no longer writable. That order is
 * what this relies on: test/library-internals.test.ts pins it on a bare engine.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server } from 'socket.io';
import type { ErrorCode } from '../lib/errors.js';
import { requestIdFor } from '../lib/http/request-context.js';
import { createLogger } from '../lib/logger.js';
import { answerWithError, writeRawError } from '../lib/server/node.js';

const log = createLogger('realtime');

/** What engine.io's `connection_error` event carries (its documented fields). */
export interface EngineConnectionError {
  /** `res`: the response of a polling request; `websocket`: set once an upgrade was accepted. */
  req: IncomingMessage & { res?: ServerResponse; websocket?: unknown };
  /** engine.io's error codes: 0 unknown transport, 1 unknown session id, 2 bad handshake method, 3 bad request, 4 forbidden, 5 unsupported protocol version. */
  code: number;
  message: string;
  context?: { name?: string };
}

/** engine.io's "bad request" (code 3), by the name engine.io gives its cause. */
const BAD_REQUEST_CAUSES = new Map([
  ['INVALID_ORIGIN', 'the Origin header holds characters a header may not hold'],
  ['TRANSPORT_MISMATCH', 'the request uses another transport than its session without upgrading'],
  ['PROTOCOL_MISMATCH', 'the request uses another engine.io protocol version (EIO) than its session'],
  ['TRANSPORT_HANDSHAKE_ERROR', 'the transport could not be opened for this request (a websocket handshake must be an Upgrade request)'],
]);

/** A refusal as the API answers it: status, code and a sentence that says what to change. */
function engineRefusal(err: Pick<EngineConnectionError, 'code' | 'context'>): { status: number; code: ErrorCode; message: string } {
  switch (err.code) {
    case 0:
      return { status: 400, code: 'bad_request', message: 'unknown transport: the transports are polling and websocket' };
    case 1:
      return { status: 400, code: 'bad_request', message: 'unknown session id (sid): the session ended or never existed; connect again' };
    case 2:
      return { status: 400, code: 'bad_request', message: 'a handshake must be a GET request' };
    case 4:
      return { status: 403, code: 'forbidden', message: 'the origin is not allowed' };
    case 5:
      return { status: 400, code: 'bad_request', message: 'this engine.io protocol version is not supported: use EIO=4' };
    default:
      return { status: 400, code: 'bad_request', message: BAD_REQUEST_CAUSES.get(err.context?.name ?? '') ?? 'the realtime request was refused' };
  }
}

/** Answers engine.io's refusals on `io` with the error JSON (see the module comment). */
export function answerEngineRefusals(io: Server): void {
  io.engine.on('connection_error', (err: EngineConnectionError) => {
    const { status, code, message } = engineRefusal(err);
    const given = err.req.headers['x-request-id'];
    const requestId = requestIdFor(new Headers(typeof given === 'string' ? { 'x-request-id': given } : {}));
    log.debug('realtime request refused', { engineCode: err.code, cause: err.context?.name, requestId });
    const res = err.req.res;
    // A polling request has its response (CORS headers already set on it); an upgrade only its
    // connection, where no HTTP answer fits once the websocket was accepted.
    if (res) {
      if (!res.headersSent) answerWithError(res, status, code, message, requestId);
    } else if (err.req.websocket === undefined && err.req.socket.writable) {
      writeRawError(err.req.socket, status, code, message, requestId);
    }
  });
}
