/**
 * The client SDK (lib/client) as the suites use it where they act as an agent or a UI: a
 * client that records what it was delivered, writers that post through it with
 * `clientMsgId`, and the check that a subscriber saw a stream exactly once and in order.
 * What a client sees is what the SDK delivered: the test code never pages REST for it.
 */
import { expect } from 'vitest';
import { FabricClient, FabricRest, type FabricClientOptions, type MessageInfo } from '../../lib/client/index.js';
import type { Message } from '../../lib/realtime/events.js';
import type { RealtimeNamespace } from '../../realtime/app.js';
import type { TestUser } from './harness.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

/** Conditions are awaited, never timed: generous for a loaded machine. */
export const WAIT = { timeout: 20_000 };

/** A delivered message; `pos` is its channel stream position as the node sent it. */
export type Delivered = { message: Message & { pos?: number }; info: MessageInfo };

/** Clients to close after each test: `afterEach(closeClients)`. */
const open: FabricClient[] = [];
export function closeClients(): void {
  for (const c of open.splice(0)) c.close();
}

/**
 * A client of `user` on the node at `url` (REST; also socket.io unless `realtimeUrl` is
 * given), with a short backoff, closed by `closeClients`. Records every message, resync and
 * (re)connect it reports.
 */
export function sdkClient(url: string, user: TestUser, opts: Partial<FabricClientOptions> = {}) {
  const c = new FabricClient({ url, token: user.token, userId: user.id, backoff: { baseMs: 50, maxMs: 500 }, ...opts });
  open.push(c);
  const seen: Delivered[] = [];
  c.onMessage((message, info) => void seen.push({ message, info }));
  const resyncs: { channelId: string; messages: number }[] = [];
  c.onResync((e) => void resyncs.push(e));
  const reconnects: boolean[] = [];
  c.onConnected((e) => void reconnects.push(e.reconnect));
  return { c, seen, resyncs, reconnects };
}
export type SdkClient = ReturnType<typeof sdkClient>;

/** A connected client of `user`: it has joined its channels when this resolves. */
export async function sdkSubscriber(url: string, user: TestUser, opts: Partial<FabricClientOptions> = {}): Promise<SdkClient> {
  const s = sdkClient(url, user, opts);
  await s.c.connect();
  return s;
}

/** The highest position a subscriber was delivered in its stream (0 before any). */
export const lastPos = (s: SdkClient) => s.seen.reduce((max, d) => Math.max(max, d.message.pos ?? 0), 0);

/**
 * Asserts that `seen` is exactly positions 1..head, in order, each once, with message seqs
 * increasing, every message live or replayed from the log (none paged through REST).
 */
export function expectExactStream(who: string, seen: Delivered[], head: number) {
  expect(
    seen.map((d) => d.message.pos),
    `${who}: every position once, in order`,
  ).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  const seqs = seen.map((d) => d.message.seq);
  expect(seqs, `${who}: seqs in order`).toEqual([...seqs].sort((a, b) => a - b));
  expect(new Set(seen.map((d) => d.message.id)).size, `${who}: every message once`).toBe(seen.length);
  expect(
    seen.filter((d) => d.info.source === 'resync'),
    `${who}: no REST paging`,
  ).toEqual([]);
}

/**
 * `writers` posting `perWriter` messages each, concurrently, through the SDK (`clientMsgId`
 * `<userId>-<k>`, retries on network errors and 5xx), message k of writer i through
 * `urls[(i + k) % urls.length]`. `onProgress` is called with the count of stored posts. A
 * further round of the same writers starts at `from` (its first k).
 */
export async function postLoad(urls: string[], channelId: string, writers: TestUser[], perWriter: number, onProgress?: (done: number) => void, from = 0) {
  let done = 0;
  await Promise.all(
    writers.map(async (wr, i) => {
      const rests = urls.map((url) => new FabricRest({ url, token: wr.token, retry: { maxAttempts: 50, backoff: { baseMs: 50, maxMs: 200 } } }));
      for (let k = from; k < from + perWriter; k++) {
        await rests[(i + k) % rests.length].post(channelId, { content: `w${i} ${k}`, clientMsgId: `${wr.id}-${k}` });
        onProgress?.(++done);
      }
    }),
  );
}

/**
 * A client of `user` that reaches the node at `url` through a TCP proxy the test can take
 * away (`away`: the server sees the socket close) and give back (`back`: resolves once the
 * client has reconnected and resumed). `onProxy` gets the proxy, for the suite to close it.
 */
export async function awayableClient(url: string, user: TestUser, onProxy: (proxy: TcpProxy) => void, opts: Partial<FabricClientOptions> = {}) {
  const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(url).port) });
  onProxy(proxy);
  const s = sdkClient(proxy.url('http'), user, { backoff: { baseMs: 50, maxMs: 300 }, ...opts });
  const away = async () => {
    proxy.drop();
    await expect.poll(() => s.c.connected, WAIT).toBe(false);
  };
  const back = async () => {
    const before = s.reconnects.length;
    proxy.restore();
    await expect.poll(() => s.reconnects.length, WAIT).toBeGreaterThan(before);
  };
  return { ...s, proxy, away, back };
}

/**
 * The node loses what it sends to `lostRooms` while `act` runs: the sockets `from` selects (a
 * room, or socket ids) are out of those rooms until `wentOut` holds for `act`'s result (a
 * witness got what was sent). Returns that result.
 */
export async function loseDelivery<T>(nsp: RealtimeNamespace, from: string | string[], lostRooms: string[], act: () => Promise<T>, wentOut: (result: T) => boolean) {
  nsp.in(from).socketsLeave(lostRooms);
  const result = await act();
  await expect.poll(() => wentOut(result), WAIT).toBe(true);
  nsp.in(from).socketsJoin(lostRooms);
  return result;
}

/**
 * A `fetch` for the SDK (its `fetch` option) that holds a request until the test lets it go:
 * `hold(match, 'request')` keeps the next matching request from reaching the node, `'response'`
 * lets the node answer it and keeps the answer from the client. `caught()` says it is held.
 */
export function holdingFetch() {
  type Hold = { match: (url: URL) => boolean; at: 'request' | 'response'; taken: boolean; caught: boolean; gate: Promise<void> };
  const holds: Hold[] = [];
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const hold = holds.find((h) => !h.taken && h.match(url));
    if (!hold) return fetch(input, init);
    hold.taken = true;
    const res = hold.at === 'response' ? await fetch(input, init) : null;
    hold.caught = true;
    await hold.gate;
    return res ?? fetch(input, init);
  };
  const hold = (match: (url: URL) => boolean, at: 'request' | 'response') => {
    let release!: () => void;
    const h: Hold = { match, at, taken: false, caught: false, gate: new Promise<void>((r) => (release = r)) };
    holds.push(h);
    return { caught: () => h.caught, release };
  };
  return { fetch: fetchFn, hold };
}

/**
 * A `fetch` for the SDK (its `fetch` option) in front of which the API process answers the
 * first `times` matching requests with 503 `db_unavailable` (api.md), as it does while its
 * database is away; every other request reaches the node. `failed()` counts those answers.
 */
export function failingFetch(match: (url: URL, init?: RequestInit) => boolean, times = 1) {
  let failed = 0;
  const fetchFn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (failed < times && match(url, init)) {
      failed++;
      return Response.json({ error: { code: 'db_unavailable', message: 'the database is unavailable' } }, { status: 503 });
    }
    return fetch(input, init);
  };
  return { fetch: fetchFn, failed: () => failed };
}
