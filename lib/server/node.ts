import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { errorBody, HttpError } from '../errors.js';
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
  close(): Promise<void>;
}

/** Serves `fetch` on host:port (port 0 = any free port). */
export async function listenFetch(fetch: (request: Request) => Promise<Response>, port: number, host?: string): Promise<Listening> {
  useAdapterResponses(); // written out in one go instead of pumping a web stream (lib/server/adapter-response.ts)
  const adapter = createServerAdapter((request: Request) => fetch(request));
  const server = createServer(adapter);
  server.on('clientError', answerRefusedRequest);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

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
  const requestId = requestIdFor(new Headers());
  const body = JSON.stringify(errorBody(new HttpError(status, 'bad_request', message), requestId));
  socket.end(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      `x-request-id: ${requestId}\r\n` +
      'connection: close\r\n\r\n' +
      body,
  );
}
