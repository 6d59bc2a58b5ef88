import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Response as AdapterResponse } from '@whatwg-node/fetch';
import { createServerAdapter } from '@whatwg-node/server';
import { useResponseClass } from '../http/respond.js';

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
  useResponseClass(AdapterResponse); // the adapter writes these out in one go instead of pumping a web stream
  const adapter = createServerAdapter((request: Request) => fetch(request));
  const server = createServer(adapter);
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
