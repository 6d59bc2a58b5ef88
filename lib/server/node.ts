import { createServer, ServerResponse, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServerAdapter } from '@whatwg-node/server';
import { errorBody, HttpError, type ErrorCode } from '../errors.js';
import { requestIdFor } from '../http/request-context.js';
import { createLogger } from '../logger.js';
import { useAdapterResponses } from './adapter-response.js';

const log = createLogger('http');

/**
 * The Node adapter: the only place where a fetch-style handler meets `node:http`
 * (through @whatwg-node/server). Everything above it sees web Request/Response only.
 */
export interface Listening {
  server: Server;
  port: number;
  /**
   * The graceful half of a shutdown: stops accepting connections, closes the idle keep-alive
   * ones, and lets the requests in flight finish, each answered with `Connection: close` (a
   * keep-alive connection closes after its response). Resolves true once none is left, false
   * when `deadlineMs` passed first; `close()` then cuts those off.
   */
  drain(deadlineMs: number): Promise<boolean>;
  /** Whether `drain` or `close` was called. */
  readonly draining: boolean;
  /** Connections that served requests of ours and are still open (once a drain closed the idle ones: the busy ones). */
  readonly openConnections: number;
  /** Stops accepting and drops every connection left, busy ones included; resolves once the server closed. */
  close(): Promise<void>;
}

export interface ListenOptions {
  /**
   * Requests with an `Upgrade` header on this path prefix are another listener's (socket.io's
   * engine on the same server, all-in-one). Any other request with one is served as if it had
   * none (`curl --http2` asks for h2c), or refused when it carries a body.
   */
  upgradePath?: string;
}

const LAST_RESPONSE = Symbol('last response');
type ServedSocket = Socket & { [LAST_RESPONSE]?: ServerResponse };
/** Whether a connection's last request is still being answered (an idle one has written its last answer out). */
const busy = (socket: ServedSocket) => socket[LAST_RESPONSE]?.writableFinished === false;
/** How often a drain closes the connections that went idle. */
const DRAIN_POLL_MS = 20;

/** Serves `fetch` on host:port (port 0 = any free port). */
export async function listenFetch(fetch: (request: Request) => Promise<Response>, port: number, host?: string, opts: ListenOptions = {}): Promise<Listening> {
  useAdapterResponses(); // written out in one go instead of pumping a web stream (lib/server/adapter-response.ts)
  const adapter = createServerAdapter((request: Request) => fetch(request));
  /**
   * Connections that carried a request of ours, until they close, each with the response it
   * serves last: what a drain waits for. Kept per connection, not per request: a listener or a
   * promise on every response measured 4–5% of the post path's throughput (docs/performance.md).
   */
  const served = new Set<ServedSocket>();
  let draining = false;
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket as ServedSocket;
    if (socket[LAST_RESPONSE] === undefined) {
      served.add(socket);
      socket.once('close', () => served.delete(socket));
    }
    socket[LAST_RESPONSE] = res;
    if (draining) res.shouldKeepAlive = false;
    const refused = toOriginForm(req);
    if (refused) return void answerWithError(res, 400, 'bad_request', refused);
    void adapter(req, res);
  };
  // A missing Host is answered below with the error JSON instead of Node's empty 400.
  // Repeated header lines are joined as fetch joins them (Node kept the first Authorization,
  // so two tokens authenticated as the first here and as neither under Bun.serve).
  const server = createServer({ requireHostHeader: false, joinDuplicateHeaders: true }, serve);
  server.on('clientError', answerRefusedRequest);
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => answerWithError(res, 417, 'bad_request', 'the only expectation served is 100-continue'));
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => writeRawError(socket, 405, 'method_not_allowed', 'CONNECT is not served here'));
  if (opts.upgradePath) {
    const upgradePath = opts.upgradePath;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // No longer an HTTP connection of ours: a drain does not wait for it.
      served.delete(socket as ServedSocket);
      if (req.url?.startsWith(upgradePath)) return;
      if (head.length > 0 || hasBody(req)) return writeRawError(socket, 400, 'bad_request', `an Upgrade header is only served on ${upgradePath}`);
      // A bodiless request served as a plain one; the connection closes after the answer.
      req.push(null);
      const res = new ServerResponse(req);
      res.shouldKeepAlive = false;
      res.assignSocket(socket as Socket);
      res.on('finish', () => {
        res.detachSocket(socket as Socket);
        socket.end();
      });
      serve(req, res);
    });
  }
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  /** server.close() once: no new connection is accepted; resolves when the last one is gone. */
  const stopAccepting = () => (closed ??= new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    get draining() {
      return draining;
    },
    get openConnections() {
      return served.size;
    },
    drain(deadlineMs) {
      draining = true;
      void stopAccepting();
      // An answer still to be written says that its connection closes.
      for (const socket of served) {
        const res = socket[LAST_RESPONSE];
        if (res && !res.headersSent) res.shouldKeepAlive = false;
      }
      // Idle connections close now; a busy one once its answer is out (closed as idle then).
      return new Promise<boolean>((resolve) => {
        const check = () => {
          server.closeIdleConnections();
          if (served.size === 0) finish(true);
        };
        const poll = setInterval(check, DRAIN_POLL_MS);
        // At the deadline, connections that are closing as idle (always, at a deadline of 0:
        // their close comes after this) cut nothing off: only one whose answer is not out does.
        const deadline = setTimeout(() => {
          server.closeIdleConnections();
          finish(![...served].some(busy));
        }, deadlineMs);
        const finish = (drained: boolean) => {
          clearInterval(poll);
          clearTimeout(deadline);
          resolve(drained);
        };
        check();
      });
    },
    close() {
      draining = true;
      const done = stopAccepting();
      server.closeAllConnections();
      return done;
    },
  };
}

/**
 * Routes on the request target alone. @whatwg-node/server builds a request's URL as
 * `http://${Host}${target}`, so a Host that holds a path would choose the route (a request
 * line for `/x` with `Host: h/api/…?` was served `/api/…`): the Host must be a plain
 * authority, and an absolute-form target (RFC 9112 §3.2.2) is made origin-form, its authority
 * taking the Host's place. Returns why the request is refused, or null.
 */
function toOriginForm(req: IncomingMessage): string | null {
  const target = req.url ?? '';
  if (/^https?:\/\//i.test(target)) {
    const url = URL.parse(target);
    if (!url || !AUTHORITY.test(url.host)) return 'malformed request target';
    req.url = url.pathname + url.search;
    req.headers.host = url.host;
    return null;
  }
  const host = req.headers.host;
  if (host === undefined && req.httpVersion === '1.0') req.headers.host = 'localhost';
  else if (!host) return 'the request has no Host header';
  else if (!AUTHORITY.test(host)) return 'the Host header is not a host name with an optional port';
  return null;
}

/** A URL authority without user info: a registered name or IPv4 address, or an IPv6 literal, and an optional port. */
const AUTHORITY = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::\d{0,5})?$/;

/** Whether a request announces a body. */
const hasBody = (req: IncomingMessage) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/** The API's error JSON for `status` as the body and headers of an answer (a new request id unless given). */
function errorAnswer(status: number, code: ErrorCode, message: string, requestId = requestIdFor(new Headers())) {
  const body = JSON.stringify(errorBody(new HttpError(status, code, message), requestId));
  const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), 'x-request-id': requestId, connection: 'close' };
  return { body, headers };
}

/** The error JSON as the answer on `res`, after which the connection closes; headers already set on `res` (CORS) are kept. */
export function answerWithError(res: ServerResponse, status: number, code: ErrorCode, message: string, requestId?: string): void {
  const { body, headers } = errorAnswer(status, code, message, requestId);
  res.shouldKeepAlive = false;
  res.writeHead(status, headers).end(body);
}

/** The error JSON written raw on a socket that has no response object (a refused parse, CONNECT, an upgrade refused), which then closes. */
export function writeRawError(socket: Duplex, status: number, code: ErrorCode, message: string, requestId?: string): void {
  const { body, headers } = errorAnswer(status, code, message, requestId);
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${head.join('')}\r\n${body}`);
}

/**
 * A request Node's HTTP parser refused (unknown method, malformed target or headers,
 * oversized headers, a body framing it cannot read) gets the API's error JSON, written raw
 * on the socket since no request object exists: 431 for oversized headers, 408 when the
 * headers did not arrive in time, else 400. A client that is already gone gets nothing.
 */
function answerRefusedRequest(err: Error & { code?: string }, socket: Socket): void {
  log.debug('request refused by the HTTP parser', { code: err.code });
  // Node's own handler makes the same checks: a response already on its way on this
  // connection (`_httpMessage`, no public equivalent) must not be cut into by raw bytes.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message = status === 431 ? 'the request headers are too large' : status === 408 ? 'the request took too long to arrive' : 'the request could not be parsed';
  writeRawError(socket, status, 'bad_request', message);
}
