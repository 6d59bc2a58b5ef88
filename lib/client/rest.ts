/**
 * The REST side of the client SDK: the node's `/api` over `fetch` with a token, its error
 * JSON as `FabricApiError`, and posting with `clientMsgId` and retries (retry-policy.ts).
 */
import type { Channel, ChannelListItem, Guild, Message, Turn } from '../realtime/events.js';
import { sleep } from './backoff.js';
import { decideRetry, DEFAULT_RETRY_POLICY, parseRetryAfter, type RetryPolicy, type TryOutcome } from './retry-policy.js';

/** An error answer of the node (api.md "Errors"), or `network` when no answer came. */
export class FabricApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterMs: number | null = null,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'FabricApiError';
  }
}

export interface RestOptions {
  /** The node's base URL, e.g. `http://localhost:7002` (without `/api`). */
  url: string;
  token: string;
  /** Defaults to the global `fetch` (Node 20+, browsers). */
  fetch?: typeof fetch;
  retry?: Partial<RetryPolicy>;
  /**
   * How long one request may take, answer and body included (ms; default 30000, 0 for no
   * limit). A request over it fails as `FabricApiError {status: 0, code: "timeout"}`, which a
   * post retries like a network error (with its `clientMsgId`, so it is stored once).
   */
  requestTimeoutMs?: number;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** The caller's signal, and a deadline after `ms` (none when 0). */
function withDeadline(signal: AbortSignal | undefined, ms: number): { signal: AbortSignal | undefined; expired: () => boolean; done: () => void } {
  if (ms <= 0) return { signal, expired: () => false, done: () => undefined };
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new Error('request timed out')), ms);
  const onAbort = () => deadline.abort(signal!.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: deadline.signal,
    expired: () => deadline.signal.aborted && !signal?.aborted,
    done: () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
}

export interface PostInput {
  content: string;
  replyToId?: string;
  attachmentIds?: string[];
  /** Generated when absent; the same id on every retry, so the node stores the post once. */
  clientMsgId?: string;
}

/** `message`: stored (201) or already stored under this `clientMsgId` (200, `created: false`). */
export type PostResult =
  { message: Message; created: boolean; intercepted?: undefined } | { intercepted: 'no-reply' | 'force-proceed'; turn: Turn | null; message?: undefined; created?: undefined };

export interface MessagePage {
  messages: Message[];
  hasMore: boolean;
}

/** A fresh `clientMsgId` (1–64 characters). */
export const newClientMsgId = (): string => globalThis.crypto.randomUUID();

export class FabricRest {
  /** The node's base URL (no trailing slash). */
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  readonly retryPolicy: RetryPolicy;

  /** The token sent with every request (see `setToken`). */
  private token: string;

  constructor(private readonly opts: RestOptions) {
    this.token = opts.token;
    this.baseUrl = opts.url.replace(/\/+$/, '');
    this.fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.retryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
  }

  /** Sends `token` from the next request on (a refreshed Center token). */
  setToken(token: string): void {
    this.token = token;
  }

  /** One request; resolves with the parsed body and status, throws `FabricApiError` on an error status or no answer. */
  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<{ status: number; body: T }> {
    const timeoutMs = this.opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const deadline = withDeadline(signal, timeoutMs);
    const failure = (err: unknown) => {
      if (signal?.aborted) return err;
      if (deadline.expired()) return new FabricApiError(0, 'timeout', `${method} ${path}: no answer within ${timeoutMs} ms`);
      return new FabricApiError(0, 'network', err instanceof Error ? err.message : String(err));
    };
    let res: Response;
    let text: string;
    try {
      res = await this.fetchFn(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: deadline.signal,
      });
      // An answer whose body does not come whole is no answer.
      text = await res.text();
    } catch (err) {
      throw failure(err);
    } finally {
      deadline.done();
    }
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const e = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
      const retryAfter = parseRetryAfter(res.headers.get('retry-after'));
      throw new FabricApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, retryAfter, e?.details);
    }
    return { status: res.status, body: parsed as T };
  }

  async guilds(): Promise<Guild[]> {
    return (await this.request<{ guilds: Guild[] }>('GET', '/api/guilds')).body.guilds;
  }

  async channels(guildId: string): Promise<ChannelListItem[]> {
    const path = `/api/channels?guildId=${encodeURIComponent(guildId)}`;
    return (await this.request<{ channels: ChannelListItem[] }>('GET', path)).body.channels;
  }

  async channel(channelId: string): Promise<Channel> {
    return (await this.request<{ channel: Channel }>('GET', `/api/channels/${encodeURIComponent(channelId)}`)).body.channel;
  }

  /** One page of messages, ascending seq (api.md: `after` for resync, `before` for history). */
  async messages(channelId: string, page: { after?: number; before?: number; limit?: number } = {}): Promise<MessagePage> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(page)) if (v !== undefined) q.set(k, String(v));
    const qs = q.size > 0 ? `?${q}` : '';
    return (await this.request<MessagePage>('GET', `/api/channels/${encodeURIComponent(channelId)}/messages${qs}`)).body;
  }

  async turn(channelId: string): Promise<Turn> {
    return (await this.request<{ turn: Turn }>('GET', `/api/channels/${encodeURIComponent(channelId)}/turn`)).body.turn;
  }

  /**
   * Posts with a `clientMsgId` and retries on network errors, 5xx and 503 (backoff) and once
   * on 429 (after `Retry-After`); every try carries the same `clientMsgId`, so the message is
   * stored once and a retry after a lost answer returns the stored message.
   */
  async post(channelId: string, input: PostInput, signal?: AbortSignal): Promise<PostResult> {
    const body = { ...input, clientMsgId: input.clientMsgId ?? newClientMsgId() };
    const path = `/api/channels/${encodeURIComponent(channelId)}/messages`;
    const history = { attempts: 0, rateLimitedRetries: 0 };
    for (;;) {
      history.attempts += 1;
      let outcome: TryOutcome;
      let failure: FabricApiError;
      try {
        const res = await this.request<{ message: Message } | { intercepted: 'no-reply' | 'force-proceed'; turn: Turn | null }>('POST', path, body, signal);
        return 'message' in res.body ? { message: res.body.message, created: res.status === 201 } : res.body;
      } catch (err) {
        if (!(err instanceof FabricApiError)) throw err;
        failure = err;
        outcome = err.status === 0 ? { kind: 'network' } : { kind: 'status', status: err.status, retryAfterMs: err.retryAfterMs };
      }
      const decision = decideRetry(outcome, history, this.retryPolicy);
      if (!decision.retry) throw failure;
      if (decision.rateLimited) history.rateLimitedRetries += 1;
      await sleep(decision.delayMs, signal);
    }
  }
}
