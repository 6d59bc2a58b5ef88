/**
 * A TCP proxy in front of a server (Redis in the split-mode tests), to make that server slow
 * to accept or to take it away from under a running process.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  url(scheme: string): string;
  /** Drops every connection and refuses new ones, as if the server went down. */
  cut(): Promise<void>;
  /** Drops every connection and closes new ones at once until `restore` (the network is away; the port stays). */
  drop(): void;
  restore(): void;
  /** Sends new connections to `target` and drops the open ones (a load balancer whose backend changed). */
  retarget(target: { host: string; port: number }): void;
  /** Nothing passes any more, either way, on the connections open and on new ones, which stay open: a network that went silent. */
  freeze(): void;
  close(): Promise<void>;
}

/** Forwards 127.0.0.1:<port> to `target`; each new connection is held `delayMs` before it is forwarded. */
export async function startTcpProxy(target: { host: string; port: number }, opts: { delayMs?: number } = {}): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let current = target;
  const track = (s: Socket) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('error', () => s.destroy());
  };
  let dropping = false;
  let frozen = false;
  const server = createServer((client) => {
    track(client);
    if (dropping) return void client.destroy();
    if (frozen) return void client.pause();
    client.pause();
    setTimeout(() => {
      if (client.destroyed) return;
      const upstream = connect(current.port, current.host);
      track(upstream);
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.resume();
    }, opts.delayMs ?? 0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  const cut = async () => {
    if (closed) return;
    closed = true;
    const done = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of open) s.destroy();
    await done;
  };
  const drop = () => {
    dropping = true;
    for (const s of open) s.destroy();
  };
  const restore = () => void (dropping = false);
  const retarget = (to: { host: string; port: number }) => {
    current = to;
    for (const s of open) s.destroy();
  };
  const freeze = () => {
    frozen = true;
    for (const s of open) s.unpipe().pause();
  };
  return { port, url: (scheme) => `${scheme}://127.0.0.1:${port}`, cut, close: cut, drop, restore, retarget, freeze };
}
