/** Raw HTTP over TCP, for requests no HTTP client would send (bad targets, unknown methods, aborted bodies). */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body parsed as JSON when it is JSON, else undefined. */
  json: any;
}

/** Sends `bytes` to host:port and reads until the server closes or answers completely. */
export function rawRequest(port: number, bytes: string | Buffer, host = '127.0.0.1'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no complete answer within 10 s'));
    }, 10_000);
    const tryParse = (final: boolean) => {
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.indexOf('\r\n\r\n');
      if (head < 0) return final ? done(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`)) : undefined;
      const [statusLine, ...lines] = text.slice(0, head).split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
      const body = text.slice(head + 4);
      const length = Number(headers['content-length'] ?? NaN);
      if (!final && !(Number.isFinite(length) && Buffer.byteLength(body) >= length)) return undefined;
      let json: unknown;
      try {
        json = (headers['content-type'] ?? '').includes('json') ? JSON.parse(body) : undefined;
      } catch {
        json = undefined;
      }
      done(undefined, { status: Number(statusLine.split(' ')[1]), headers, body, json });
    };
    const done = (err?: Error, res?: RawResponse) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(res!);
    };
    socket.on('data', (d) => {
      chunks.push(d);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('error', (e) => (chunks.length ? tryParse(true) : done(e)));
    socket.write(bytes);
  });
}

/** Sends the start of a request whose body never completes, then drops the connection. */
export async function abortMidBody(port: number, head: string, partialBody: string): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.write(head + partialBody);
  await new Promise((r) => setTimeout(r, 200));
  socket.destroy();
}
