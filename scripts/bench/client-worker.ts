/**
 * A client process of `npm run bench -- --mode fanout|idle` (started by clients.ts, driven over
 * IPC): holds many socket.io clients on bare websockets of its own — the handshake, unmasked
 * server frames, masked client frames, engine.io pings, the socket.io namespace connect and one
 * `join_channel` — and only counts what arrives: per socket the seqs of `message.created` of its
 * channel, and for posts sent inside the measured window the delivery latency, on the machine's
 * monotonic clock (the posting process stamps each post's content with the same clock).
 * socket.io-client would cost several times more CPU per frame than the node it measures.
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { deliveryIntegrity } from '../bench-integrity.js';
import { LatencyHistogram, monotonicMs, type ClientCommand, type ClientReply } from './client-protocol.js';

const NAMESPACE = '/realtime';

/** One socket.io client over a bare websocket. */
class RawClient {
  readonly seqs: number[] = [];
  private buffer: Buffer = Buffer.alloc(0);
  private upgraded = false;
  private readonly tcp: Socket;
  private settle?: { resolve: () => void; reject: (err: Error) => void };

  constructor(
    url: URL,
    private readonly token: string,
    readonly channelId: string,
    private readonly onMessage: (client: RawClient, seq: number, sentMs: number) => void,
    private readonly onClosed: (client: RawClient) => void,
  ) {
    this.tcp = netConnect(Number(url.port), url.hostname);
    this.tcp.setNoDelay(true);
    this.tcp.on('connect', () =>
      this.tcp.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: ${url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    this.tcp.on('data', (chunk: Buffer) => this.onData(chunk));
    this.tcp.on('error', (err) => this.fail(err));
    this.tcp.on('close', () => {
      this.fail(new Error('connection closed'));
      this.onClosed(this);
    });
  }

  /** Resolves once connected to the namespace and joined to the channel. */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => (this.settle = { resolve, reject }));
  }

  close(): void {
    this.tcp.destroy();
  }

  private fail(err: Error) {
    const settle = this.settle;
    this.settle = undefined;
    settle?.reject(err);
  }

  private onData(chunk: Buffer) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const status = this.buffer.toString('latin1', 9, 12);
      if (status !== '101') return this.fail(new Error(`websocket upgrade answered ${status}`));
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
    }
    let offset = 0;
    const b = this.buffer;
    while (b.length - offset >= 2) {
      const opcode = b[offset] & 0x0f;
      let length = b[offset + 1] & 0x7f;
      let head = 2;
      if (length === 126) {
        if (b.length - offset < 4) break;
        length = b.readUInt16BE(offset + 2);
        head = 4;
      } else if (length === 127) {
        if (b.length - offset < 10) break;
        length = Number(b.readBigUInt64BE(offset + 2));
        head = 10;
      }
      if (b.length - offset < head + length) break;
      const payload = b.subarray(offset + head, offset + head + length);
      offset += head + length;
      if (opcode === 1) this.onText(payload.toString('utf8'));
      else if (opcode === 9) this.send(payload, 0x8a);
      else if (opcode === 8) this.tcp.end();
    }
    this.buffer = offset === b.length ? Buffer.alloc(0) : b.subarray(offset);
  }

  private onText(text: string) {
    if (text.startsWith('42/realtime,["message.created"')) {
      const seq = /"seq":(\d+)/.exec(text);
      const channel = /"channelId":"([^"]+)"/.exec(text);
      const sent = /"content":"f:([0-9.]+)"/.exec(text);
      if (seq && channel && channel[1] === this.channelId) this.onMessage(this, Number(seq[1]), sent ? Number(sent[1]) : NaN);
      return;
    }
    if (text === '2') return this.sendText('3');
    if (text[0] === '0') return this.sendText(`40${NAMESPACE},${JSON.stringify({ token: this.token })}`);
    if (text.startsWith(`40${NAMESPACE},`)) return this.sendText(`42${NAMESPACE},1${JSON.stringify(['join_channel', { channelId: this.channelId }])}`);
    if (text.startsWith(`44${NAMESPACE},`)) return this.fail(new Error(`connect refused: ${text.slice(NAMESPACE.length + 3)}`));
    if (text.startsWith(`43${NAMESPACE},1`)) {
      const [ack] = JSON.parse(text.slice(NAMESPACE.length + 4)) as [{ ok: boolean; error?: unknown }];
      const settle = this.settle;
      this.settle = undefined;
      if (ack.ok) settle?.resolve();
      else settle?.reject(new Error(`join_channel refused: ${JSON.stringify(ack)}`));
    }
  }

  private sendText(text: string) {
    this.send(Buffer.from(text, 'utf8'), 0x81);
  }

  /** One masked frame (clients must mask). */
  private send(payload: Buffer, first: number) {
    const mask = randomBytes(4);
    const head = payload.length < 126 ? 2 : payload.length < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(head + 4 + payload.length);
    frame[0] = first;
    if (head === 2) frame[1] = 0x80 | payload.length;
    else if (head === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(payload.length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(payload.length), 2);
    }
    mask.copy(frame, head);
    for (let i = 0; i < payload.length; i++) frame[head + 4 + i] = payload[i] ^ mask[i & 3];
    this.tcp.write(frame);
  }
}

const clients: RawClient[] = [];
let window = { from: Infinity, to: -Infinity };
let histogram = new LatencyHistogram();
let received = 0;
let joined = 0;
let closed = 0;

const reply = (r: ClientReply) => process.send!(r);

function onMessage(client: RawClient, seq: number, sentMs: number) {
  client.seqs.push(seq);
  received++;
  if (sentMs >= window.from && sentMs < window.to) histogram.add(monotonicMs() - sentMs);
}

async function connectAll(url: URL, sockets: { token: string; channelId: string }[], batch: number) {
  const started = monotonicMs();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(batch, sockets.length) }, async () => {
      while (next < sockets.length) {
        const { token, channelId } = sockets[next++];
        const client = new RawClient(url, token, channelId, onMessage, () => closed++);
        clients.push(client);
        try {
          await client.ready();
          joined++;
        } catch (err) {
          failed++;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
      }
    }),
  );
  reply({ type: 'connected', connected: sockets.length - failed, failed, ms: monotonicMs() - started, firstError });
}

process.on('message', (cmd: ClientCommand) => {
  switch (cmd.type) {
    case 'connect':
      void connectAll(new URL(cmd.url), cmd.sockets, cmd.batch);
      break;
    case 'window':
      window = { from: cmd.from, to: cmd.to };
      histogram = new LatencyHistogram();
      break;
    case 'count':
      reply({ type: 'count', received, joined, closed });
      break;
    case 'report': {
      const posted = new Map(Object.entries(cmd.posted));
      const integrity = deliveryIntegrity(
        clients.map((c) => c.seqs),
        (i) => clients[i].channelId,
        posted,
      );
      reply({ type: 'report', histogram: histogram.toJSON(), integrity, received, closed });
      break;
    }
    case 'close':
      for (const c of clients) c.close();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'started' });
