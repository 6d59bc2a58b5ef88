import { connect as netConnect, type Socket } from 'node:net';

/**
 * The posting loops' HTTP client: one keep-alive HTTP/1.1 connection per loop on a plain TCP
 * socket, each request written in one go and each response read just far enough (status
 * line, Content-Length, body). The load generator shares the machine's cores with the node it
 * measures, and node:http's client spends several times more CPU per request than this.
 */
export class PostConnection {
  private readonly socket: Socket;
  private readonly host: string;
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: { status: number; body: string }) => void; reject: (err: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(url: string) {
    const { hostname, port } = new URL(url);
    this.host = `${hostname}:${port}`;
    this.socket = netConnect(Number(port), hostname);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('the node closed the connection')));
  }

  /** POSTs a JSON body; resolves with the parsed answer, rejects on a status of 300 or more. */
  async postJson<T>(path: string, token: string, body: unknown): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.waiting) throw new Error('one request at a time per connection');
    const payload = JSON.stringify(body);
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => (this.waiting = { resolve, reject }));
    this.socket.write(
      `POST ${path} HTTP/1.1\r\nhost: ${this.host}\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`,
    );
    const { status, body: text } = await answer;
    if (status >= 300) throw new Error(`POST ${path}: ${status} ${text}`);
    return JSON.parse(text) as T;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer) {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    const headerEnd = this.received.indexOf('\r\n\r\n');
    if (headerEnd < 0 || !this.waiting) return;
    const head = this.received.toString('latin1', 0, headerEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error('the node answered without Content-Length'));
    const end = headerEnd + 4 + Number(length[1]);
    if (this.received.length < end) return;
    const body = this.received.toString('utf8', headerEnd + 4, end);
    this.received = this.received.subarray(end);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status: Number(head.slice(9, 12)), body });
  }

  private fail(err: Error) {
    this.failure ??= err;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(err);
  }
}
