/**
 * `FabricClient`: one user's (or agent's) connection to a guild node, for agent plugins and
 * UIs (Node 20+ and browsers). It joins the user's channels and follows `channel.joined/left`,
 * delivers every stream event once and in `pos` order, resumes each stream from its last
 * position on every reconnect (REST paging when the node answers `resync: true`), re-reads the
 * turn after a reconnect, and stops when the node ends the session. See docs/realtime-client.md.
 */
import { io, type Socket } from 'socket.io-client';
import type {
  Channel,
  ChannelMembershipEvent,
  ChannelStreamEvent,
  ChannelXType,
  ClientToServerEvents,
  Message,
  MessageCreatedEvent,
  ServerEventName,
  ServerEventPayload,
  ServerToClientEvents,
  SessionEndedEvent,
  StreamAck,
  Turn,
  TurnReason,
  TurnUpdatedEvent,
  WakeReason,
} from '../realtime/events.js';
import { CHANNEL_STREAM_EVENTS, USER_STREAM_EVENTS } from '../realtime/events.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { FabricApiError, FabricRest, type PostInput, type PostResult, type RestOptions } from './rest.js';
import { RecentKeys, StreamOrder } from './stream-order.js';
import { initialTurnWake, noteMessageWake, noteTurn, tellOnReread, type TurnWakeState } from './turn-wake.js';

/** Where a delivered message came from. */
export type DeliverySource = 'live' | 'replay' | 'resync';

export interface MessageInfo {
  wakeup: boolean;
  wakeReason: WakeReason | null;
  /** True when sent again after a resume (`replayed: true`) or fetched through REST. */
  replayed: boolean;
  source: DeliverySource;
}

export interface TurnInfo {
  /** True when it is this user's turn to speak (an event's `wakeup`, or a re-read after a reconnect). */
  wakeup: boolean;
  wakeReason: WakeReason | null;
  /** The event's reason; `reconnect` when the turn was re-read after a reconnect. */
  reason: TurnReason | 'reconnect';
  replayed: boolean;
}

/** The session is over for good (`session.ended` with token_revoked/token_expired/removed, or a refused token). */
export class SessionEndedError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SessionEndedError';
  }
}

export interface FabricClientOptions extends RestOptions {
  /**
   * Where the socket.io namespace `/realtime` is served (base URL, without `/realtime`), when
   * it is not `url`: in split mode the API processes and the realtime process have their own
   * URLs. Defaults to `url`.
   */
  realtimeUrl?: string;
  /** Join every channel the user is a member of, and follow channel.joined/left (default true). */
  autoJoin?: boolean;
  /** Reconnect and rejoin backoff (defaults: 250 ms doubling up to 10 s). */
  backoff?: BackoffOptions;
  /**
   * How long a missing position may stay missing before it is fetched again (ms): the channel
   * is rejoined from its last position; for the user stream, the client reconnects.
   */
  gapTimeoutMs?: number;
  /**
   * How far back (in events of the channel stream, and in messages for a REST resync) a
   * channel is first joined when the user became a member of it after this client started:
   * on `channel.joined` (live or replayed) and for a channel new in a reconnect listing. The
   * membership lies somewhere before the channel's position when the client reads it; this
   * many events back covers what was posted after the membership (default 300).
   */
  joinBacklogEvents?: number;
  /** How long to wait for a join or resume ack (ms). */
  ackTimeoutMs?: number;
  /** Wait before reconnecting after `session.ended {code: "rate_limited"}` (ms; the node counts socket events per 10 s). */
  rateLimitedPauseMs?: number;
  /** Passed to socket.io-client (e.g. `transports`); `auth` and reconnection are the client's. */
  socket?: Record<string, unknown>;
}

/** A handler may return a promise: its rejection is reported to onError. */
type Handler<A extends unknown[]> = (...args: A) => unknown;
interface Handlers {
  message: Handler<[Message, MessageInfo]>;
  turn: Handler<[Turn, TurnInfo]>;
  channelJoined: Handler<[ChannelMembershipEvent]>;
  channelLeft: Handler<[ChannelMembershipEvent]>;
  sessionEnded: Handler<[SessionEndedEvent]>;
  resync: Handler<[{ channelId: string; messages: number }]>;
  connected: Handler<[{ reconnect: boolean }]>;
  disconnected: Handler<[{ reason: string }]>;
  error: Handler<[Error]>;
}

/** One stream (a channel's, or the user's) as the client follows it on the current connection. */
interface StreamFollow {
  stream: StreamOrder<StreamEvent>;
  /** Joined (a channel) or resumed (the user stream) on the current connection. */
  subscribed: boolean;
  /** Armed while positions are missing (see watchGap). */
  gapTimer?: ReturnType<typeof setTimeout>;
  /** The position a join or resume with `since` acknowledged: the replay must reach it. */
  caughtUpTo: number;
  /** Joins or resumes retried since the last acknowledged one, and the pending retry. */
  attempt: number;
  retryTimer?: ReturnType<typeof setTimeout>;
}

interface ChannelState extends StreamFollow {
  id: string;
  xType: ChannelXType | null;
  /** Highest message seq seen: where a REST resync starts. */
  lastSeq: number;
  seen: RecentKeys;
  /** The join in flight, so that a listing and a channel.joined do not subscribe twice. */
  joining: Promise<void> | null;
  /** What the agent was told about its turn here (turn-wake.ts). */
  turnWake: TurnWakeState;
  /** Joined with `join()`: kept on reconnect even when not in the member listing. */
  byHand: boolean;
  /** The position the stream started at when that was the channel's head in the first listing (see startAtMembership). */
  listedHead: number | null;
}

type Payload = { pos?: number; replayed?: true } & Record<string, unknown>;
type StreamEvent = { event: ServerEventName; pos?: number; payload: Payload };

/** Why the client stopped: a `session.ended`, or `unauthorized` when the node refused the token on connect. */
export type SessionEnd = { code: SessionEndedEvent['code'] | 'unauthorized'; message: string };

const ENDS_FOR_GOOD = new Set(['token_revoked', 'token_expired', 'removed']);
const hasTurnEngine = (xType: ChannelXType | null) => xType === 'discuss' || xType === 'work';
/** How many left channels the client remembers (their position, and leaves that drop a follow in flight). */
const LEFT_MEMORY = 1000;
const DEFAULT_JOIN_BACKLOG_EVENTS = 300;

/**
 * Where a channel's stream starts: `since` of its first join (null: at the ack), the seq a
 * REST resync pages from, and whether that is its head in the client's first listing.
 */
type Start = { pos: number | null; lastSeq: number; listedHead?: true };

export class FabricClient {
  readonly rest: FabricRest;
  /** The base URL of the socket.io side (no trailing slash): `realtimeUrl`, or the REST URL. */
  readonly realtimeUrl: string;
  /** The user this token acts as (learned from the first `channel.joined`, or given). */
  userId: string | null;
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private readonly channels = new Map<string, ChannelState>();
  /**
   * Channels left (or dropped from the listing), most recent last, at most LEFT_MEMORY: how
   * many times (a follow in flight compares it to drop itself after a leave), and the position
   * and seq reached, so that following the channel again does not deliver those events twice.
   */
  private readonly left = new Map<string, { leaves: number; pos: number | null; lastSeq: number }>();
  private readonly user: StreamFollow = { stream: new StreamOrder(), subscribed: false, caughtUpTo: 0, attempt: 0 };
  /** Per channel listing in flight, the channels joined or left meanwhile: newer than the listing (see subscribeAll). */
  private readonly listingsInFlight = new Set<Map<string, 'joined' | 'left'>>();
  private readonly handlers: { [K in keyof Handlers]: Handlers[K][] } = {
    message: [],
    turn: [],
    channelJoined: [],
    channelLeft: [],
    sessionEnded: [],
    resync: [],
    connected: [],
    disconnected: [],
    error: [],
  };
  private readonly eventHandlers = new Map<ServerEventName, ((payload: never) => void)[]>();
  private readonly backoff: BackoffOptions;
  private readonly abort = new AbortController();
  private connects = 0;
  private connecting: Promise<void> | null = null;
  /** No reconnect before this time (after a rate_limited session end). */
  private pauseUntil = 0;
  private reconnectAttempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private ended: SessionEnd | null = null;

  constructor(private readonly opts: FabricClientOptions & { userId?: string }) {
    this.rest = new FabricRest(opts);
    this.realtimeUrl = opts.realtimeUrl?.replace(/\/+$/, '') ?? this.rest.baseUrl;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.userId = opts.userId ?? null;
  }

  // ------------------------------------------------------------ handlers

  /** Every `message.created`, once and in order, with its per-recipient wake. */
  onMessage(fn: Handlers['message']) {
    return this.add('message', fn);
  }
  /** Every `turn.updated`, and after each reconnect the re-read turn when it is this user's turn. */
  onTurn(fn: Handlers['turn']) {
    return this.add('turn', fn);
  }
  onChannelJoined(fn: Handlers['channelJoined']) {
    return this.add('channelJoined', fn);
  }
  onChannelLeft(fn: Handlers['channelLeft']) {
    return this.add('channelLeft', fn);
  }
  /** `session.ended`: with token_revoked/token_expired/removed the client has stopped. */
  onSessionEnded(fn: Handlers['sessionEnded']) {
    return this.add('sessionEnded', fn);
  }
  /** A channel was caught up through REST after its position fell out of the node's retention. */
  onResync(fn: Handlers['resync']) {
    return this.add('resync', fn);
  }
  onConnected(fn: Handlers['connected']) {
    return this.add('connected', fn);
  }
  onDisconnected(fn: Handlers['disconnected']) {
    return this.add('disconnected', fn);
  }
  onError(fn: Handlers['error']) {
    return this.add('error', fn);
  }

  /** Any server event by name (stream events in order, once); returns the unsubscribe function. */
  on<E extends ServerEventName>(event: E, fn: (payload: ServerEventPayload<E>) => void): () => void {
    const list = this.eventHandlers.get(event) ?? [];
    const handler = fn as (payload: never) => void;
    list.push(handler);
    this.eventHandlers.set(event, list);
    return () => {
      const i = list.indexOf(handler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  private add<K extends keyof Handlers>(kind: K, fn: Handlers[K]): () => void {
    this.handlers[kind].push(fn);
    return () => {
      const i = this.handlers[kind].indexOf(fn);
      if (i >= 0) this.handlers[kind].splice(i, 1);
    };
  }

  private call<K extends keyof Handlers>(kind: K, ...args: Parameters<Handlers[K]>): void {
    for (const fn of this.handlers[kind]) {
      try {
        const r = (fn as (...a: Parameters<Handlers[K]>) => unknown)(...args);
        if (r instanceof Promise) r.catch((err: unknown) => this.fail(err));
      } catch (err) {
        if (kind !== 'error') this.fail(err);
      }
    }
  }

  private fail(err: unknown): void {
    this.call('error', err instanceof Error ? err : new Error(String(err)));
  }

  // ------------------------------------------------------------ lifecycle

  /** The session end that stopped the client, if any. */
  get sessionEnded(): SessionEnd | null {
    return this.ended;
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  /** The channels currently followed, with the last position delivered in each. */
  positions(): Record<string, number | null> {
    return Object.fromEntries([...this.channels].map(([id, c]) => [id, c.stream.lastPos]));
  }

  /**
   * Connects and, with `autoJoin`, joins the user's channels. Resolves once subscribed;
   * rejects with `SessionEndedError` for a refused token.
   */
  connect(): Promise<void> {
    if (this.ended) return Promise.reject(new SessionEndedError(this.ended.code, this.ended.message));
    this.connecting ??= this.open();
    return this.connecting;
  }

  private open(): Promise<void> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(`${this.realtimeUrl}/realtime`, {
      transports: ['websocket'],
      ...this.opts.socket,
      auth: { token: this.opts.token },
      reconnection: true,
      reconnectionDelay: this.backoff.baseMs,
      reconnectionDelayMax: this.backoff.maxMs,
    });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      let settled = false;
      socket.on('connect', () => {
        this.reconnectAttempt = 0;
        const reconnect = this.connects++ > 0;
        void this.syncUntilDone(socket, reconnect).then((done) => {
          if (!done) {
            if (this.ended && !settled) {
              settled = true;
              reject(new SessionEndedError(this.ended.code, this.ended.message));
            }
            return;
          }
          this.call('connected', { reconnect });
          if (!settled) {
            settled = true;
            resolve();
          }
        });
      });
      socket.on('connect_error', (err) => {
        // A refused token ends the session; anything else (node restarting, Center down) is retried.
        if (err.message === 'unauthorized') {
          const refused = new SessionEndedError('unauthorized', 'the node refused the token');
          this.end({ code: 'unauthorized', message: refused.message });
          if (!settled) {
            settled = true;
            reject(refused);
          } else this.fail(refused);
          return;
        }
        if (!socket.active) this.scheduleReconnect();
      });
      socket.on('disconnect', (reason) => {
        // The reconnect rejoins every channel and resumes the user stream anyway.
        for (const follow of [this.user, ...this.channels.values()]) {
          follow.subscribed = false;
          clearTimeout(follow.retryTimer);
          follow.retryTimer = undefined;
        }
        this.call('disconnected', { reason });
        // The server closed the socket: socket.io does not come back by itself.
        if (reason === 'io server disconnect' && !this.ended) this.scheduleReconnect();
      });
      socket.on('session.ended', (e) => {
        this.call('sessionEnded', e);
        if (e.code === 'rate_limited') this.pauseUntil = Date.now() + (this.opts.rateLimitedPauseMs ?? 10_000);
        if (ENDS_FOR_GOOD.has(e.code)) {
          this.end(e);
          if (!settled) {
            settled = true;
            reject(new SessionEndedError(e.code, e.message));
          }
        }
      });
      // Payloads are read as loosely as the node may send them (no `pos` before the event log).
      for (const name of CHANNEL_STREAM_EVENTS) socket.on(name, (p: unknown) => this.onChannelEvent(name, p as Payload));
      for (const name of USER_STREAM_EVENTS) socket.on(name, (p: unknown) => this.onUserEvent(name, p as Payload));
      socket.on('typing', (e) => this.emitEvent('typing', e));
      socket.on('presence', (e) => this.emitEvent('presence', e));
    });
  }

  /** Disconnects for good (no reconnect); posts in flight are aborted. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    for (const follow of [this.user, ...this.channels.values()]) this.stopTimers(follow);
    this.abort.abort(new Error('client closed'));
    this.socket?.close();
  }

  private stopTimers(follow: StreamFollow): void {
    clearTimeout(follow.gapTimer);
    follow.gapTimer = undefined;
    clearTimeout(follow.retryTimer);
    follow.retryTimer = undefined;
  }

  private end(e: SessionEnd): void {
    if (this.ended) return;
    this.ended = e;
    this.close();
  }

  private scheduleReconnect(): void {
    if (this.ended || this.abort.signal.aborted) return;
    clearTimeout(this.reconnectTimer);
    const delay = Math.max(backoffDelay(++this.reconnectAttempt, this.backoff), this.pauseUntil - Date.now());
    this.reconnectTimer = setTimeout(() => this.socket?.connect(), delay);
  }

  // ------------------------------------------------------------ posting and reading

  /** Posts a message (see FabricRest.post: `clientMsgId` and retries). */
  post(channelId: string, input: PostInput | string): Promise<PostResult> {
    if (this.ended) return Promise.reject(new SessionEndedError(this.ended.code, this.ended.message));
    return this.rest.post(channelId, typeof input === 'string' ? { content: input } : input, this.abort.signal);
  }

  /** `/no-reply`: pass the turn without a message (turns.md). */
  noReply(channelId: string, clientMsgId?: string): Promise<PostResult> {
    return this.post(channelId, { content: '/no-reply', clientMsgId });
  }

  /** The latest `limit` messages of a channel (context for an agent), ascending seq. */
  async recentMessages(channelId: string, limit = 50): Promise<Message[]> {
    return (await this.rest.messages(channelId, { limit })).messages;
  }

  /**
   * Subscribes to a channel by hand (a reader may follow a public channel it is not a member
   * of); it stays followed across reconnects until `leave`.
   */
  async join(channelId: string): Promise<void> {
    const state = await this.follow(channelId, null, false);
    if (state) state.byHand = true;
  }

  /**
   * Follows a channel: reads it, then subscribes. A `leave` while this is in flight wins:
   * null, and no state is created (the read's error, if any, no longer matters).
   */
  private async follow(channelId: string, xType: ChannelXType | null, membership: boolean): Promise<ChannelState | null> {
    let state = this.channels.get(channelId);
    if (!state) {
      const leaves = this.left.get(channelId)?.leaves ?? 0;
      const stale = () => (this.left.get(channelId)?.leaves ?? 0) !== leaves;
      let channel: Channel;
      try {
        channel = await this.rest.channel(channelId);
      } catch (err) {
        if (stale()) return null;
        throw err;
      }
      if (stale()) return null;
      state = this.channelState(channelId, channel.xType, membership ? this.backlogStart(channel) : this.headStart(channel));
    }
    state.xType ??= xType;
    // Joined again from the earlier start once the join in flight (from the head) is answered.
    if (membership && this.startAtMembership(state)) await state.joining;
    else if (membership && state.subscribed) return state;
    await this.subscribe(state, false);
    return this.channels.get(channelId) === state ? state : null;
  }

  /** Unsubscribes from a channel and forgets its position; a `join` or follow in flight for it is dropped. */
  leave(channelId: string): void {
    this.noteMembership(channelId, 'left');
    this.forget(channelId, true);
    this.socket?.emit('leave_channel', { channelId }, () => undefined);
  }

  // ------------------------------------------------------------ (re)connect

  /**
   * Runs the (re)connect work until it succeeds, with backoff (the node may answer 503 while
   * it restarts); false when the connection or the session ended first.
   */
  private async syncUntilDone(socket: Socket, reconnect: boolean): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.onConnect(reconnect);
        return socket.connected;
      } catch (err) {
        if (err instanceof FabricApiError && err.status === 401) {
          this.end({ code: 'unauthorized', message: 'the node refused the token' });
          return false;
        }
        this.fail(err);
      }
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, this.backoff)));
      if (!socket.connected || this.ended) return false;
    }
  }

  private async onConnect(reconnect: boolean): Promise<void> {
    const socket = this.socket!;
    await Promise.all([this.resumeUser(), this.subscribeAll(reconnect)]);
    if (reconnect && socket.connected) await this.rereadTurns();
  }

  /**
   * The user stream from its last position (joins and leaves while away come back in order).
   * Not sent before a first user event: `since: 0` would replay the whole retained stream,
   * and the channel listing already says where the user is. A resume without an ack, or
   * refused for a reason that is not `bad_request`, is sent again as a join would be.
   */
  private async resumeUser(): Promise<void> {
    const user = this.user;
    const since = user.stream.lastPos;
    clearTimeout(user.retryTimer);
    user.retryTimer = undefined;
    if (since === null) {
      user.subscribed = this.connected;
      return;
    }
    const connection = this.connects;
    const ack = await this.emitAck('resume_user', { since });
    if (this.connects !== connection) return;
    if (!ack) return this.retrySubscription(user, null, () => void this.resumeUser());
    if (!ack.ok) {
      this.fail(new FabricApiError(0, ack.error.code, `resume_user: ${ack.error.message}`));
      if (ack.error.code !== 'bad_request') this.retrySubscription(user, ack.error.code, () => void this.resumeUser());
      return;
    }
    user.subscribed = true;
    user.attempt = 0;
    if (ack.resync) this.deliverUser(user.stream.startAt(ack.pos));
    else user.caughtUpTo = Math.max(user.caughtUpTo, ack.pos);
    this.watchUserGap();
  }

  /**
   * Every channel the user is a member of (the listing is the truth after time away), or the
   * ones joined by hand. A channel joined (`channel.joined`) or left while the listing was read
   * may have been read before that: it is neither dropped nor followed again by the listing,
   * and a joined one starts as any channel joined after the start.
   */
  private async subscribeAll(reconnect: boolean): Promise<void> {
    if (this.opts.autoJoin === false) {
      await Promise.all([...this.channels.values()].map((c) => this.subscribe(c, reconnect)));
      return;
    }
    const meanwhile = new Map<string, 'joined' | 'left'>();
    this.listingsInFlight.add(meanwhile);
    let member: Map<string, Channel>;
    try {
      member = await this.memberChannels();
    } finally {
      this.listingsInFlight.delete(meanwhile);
    }
    for (const [id, c] of this.channels) if (!member.has(id) && !c.byHand && meanwhile.get(id) !== 'joined') this.forget(id, false);
    for (const id of member.keys()) if (meanwhile.get(id) === 'left') member.delete(id);
    const byHand = [...this.channels.values()].filter((c) => c.byHand && !member.has(c.id));
    await Promise.all([
      // A channel new in a reconnect listing became the user's while the client was away.
      ...[...member].map(([id, ch]) => {
        const start: Start = reconnect || meanwhile.get(id) === 'joined' ? this.backlogStart(ch) : { ...this.headStart(ch), listedHead: true };
        return this.subscribe(this.channelState(id, ch.xType, start), reconnect);
      }),
      ...byHand.map((c) => this.subscribe(c, reconnect)),
    ]);
  }

  private async memberChannels(): Promise<Map<string, Channel>> {
    const out = new Map<string, Channel>();
    for (const g of await this.rest.guilds()) {
      for (const c of await this.rest.channels(g.id)) if (c.isMember) out.set(c.id, c);
    }
    return out;
  }

  /** A channel followed from where it stands now: the position the node reported (the join ack's when it reports none). */
  private headStart(channel: Channel): Start {
    return { pos: channel.eventPos ?? null, lastSeq: channel.lastSeq };
  }

  /**
   * A channel the user became a member of after the client started: `joinBacklogEvents`
   * back from where it stands now, so that the replay covers what followed the membership
   * (with each message's own `wakeup`), but not before a position already delivered here.
   */
  private backlogStart(channel: Pick<Channel, 'id' | 'eventPos' | 'lastSeq'>): Start {
    const back = Math.max(0, this.opts.joinBacklogEvents ?? DEFAULT_JOIN_BACKLOG_EVENTS);
    const before = this.left.get(channel.id);
    const pos = channel.eventPos === undefined ? null : Math.max(0, channel.eventPos - back, before?.pos ?? 0);
    return { pos, lastSeq: Math.max(0, channel.lastSeq - back, before?.lastSeq ?? 0) };
  }

  /**
   * A `channel.joined` that comes after the first listing started the channel at its head (the
   * event was late, or lost and fetched again): the membership committed while that listing
   * was read, so what was posted between the two is taken again from `joinBacklogEvents`
   * before that head, as for any channel joined after the start. Not once an event past the
   * head was delivered (order comes first). True when the start moved back.
   */
  private startAtMembership(state: ChannelState): boolean {
    const head = state.listedHead;
    state.listedHead = null;
    if (head === null || state.stream.lastPos !== head) return false;
    const start = this.backlogStart({ id: state.id, eventPos: head, lastSeq: state.lastSeq });
    if (start.pos === null || start.pos >= head) return false;
    state.stream.restartAt(start.pos);
    state.lastSeq = start.lastSeq;
    return true;
  }

  private noteMembership(channelId: string, change: 'joined' | 'left'): void {
    for (const meanwhile of this.listingsInFlight) meanwhile.set(channelId, change);
  }

  /** Stops following a channel and remembers how far it got; `leave` also drops a follow in flight. */
  private forget(channelId: string, leave: boolean): void {
    const state = this.channels.get(channelId);
    if (state) this.stopTimers(state);
    this.channels.delete(channelId);
    const before = this.left.get(channelId);
    this.left.delete(channelId);
    this.left.set(channelId, {
      leaves: (before?.leaves ?? 0) + (leave ? 1 : 0),
      pos: state ? state.stream.lastPos : (before?.pos ?? null),
      lastSeq: state ? state.lastSeq : (before?.lastSeq ?? 0),
    });
    if (this.left.size > LEFT_MEMORY) this.left.delete(this.left.keys().next().value!);
  }

  private channelState(id: string, xType: ChannelXType | null, start: Start): ChannelState {
    let state = this.channels.get(id);
    if (!state) {
      state = {
        id,
        xType,
        stream: new StreamOrder(start.pos),
        lastSeq: start.lastSeq,
        seen: new RecentKeys(),
        subscribed: false,
        joining: null,
        caughtUpTo: 0,
        attempt: 0,
        turnWake: initialTurnWake(),
        byHand: false,
        listedHead: start.listedHead ? start.pos : null,
      };
      this.channels.set(id, state);
    }
    state.xType ??= xType;
    return state;
  }

  /**
   * `join_channel`, with `since` when a position is known (the node replays what followed).
   * A `resync` answer, or a node that sends no positions after a reconnect, is caught up
   * through REST from the last seq seen.
   */
  private subscribe(state: ChannelState, reconnect: boolean): Promise<void> {
    state.joining ??= this.subscribeOnce(state, reconnect).finally(() => (state.joining = null));
    return state.joining;
  }

  private async subscribeOnce(state: ChannelState, reconnect: boolean): Promise<void> {
    clearTimeout(state.retryTimer);
    state.retryTimer = undefined;
    const since = state.stream.lastPos;
    // Held until the ack: replayed events may arrive before it, and they are ordered anyway.
    const ack = await this.emitAck('join_channel', since === null ? { channelId: state.id } : { channelId: state.id, since });
    if (!ack) return this.retryJoin(state, reconnect, null);
    if (!ack.ok) {
      const code = ack.error.code;
      if (code === 'not_found' || code === 'forbidden') {
        if (this.channels.get(state.id) === state) this.forget(state.id, false);
        return;
      }
      this.fail(new FabricApiError(0, code, `join_channel ${state.id}: ${ack.error.message}`));
      // A refusal that says nothing about the channel (rate_limited, internal, a database
      // hiccup): tried again, or the channel would stay unfollowed for the whole connection.
      if (code !== 'bad_request') this.retryJoin(state, reconnect, code);
      return;
    }
    if (this.channels.get(state.id) !== state) {
      // Left while the join was in flight. The node may have handled the leave before the
      // join and put the socket in the room after it: leave again, unless the channel is
      // followed anew meanwhile (its own join keeps the socket in the room).
      if (!this.channels.has(state.id)) this.socket?.emit('leave_channel', { channelId: state.id }, () => undefined);
      return;
    }
    state.subscribed = true;
    state.attempt = 0;
    const pos = typeof ack.pos === 'number' ? ack.pos : null;
    if (ack.resync || (reconnect && pos === null)) return this.resync(state, pos);
    if (pos === null) return;
    // Without `since` the ack starts the stream. With it, replayed events may still be on
    // their way (before or after the ack): the position is not moved past them, but a
    // replay that does not come is noticed like any other gap.
    if (since === null) this.deliverChannel(state, state.stream.startAt(pos));
    else this.checkCaughtUp(state, pos);
  }

  /** After a join with `since`: the replay up to the ack's `pos` must come, or the channel is rejoined. */
  private checkCaughtUp(state: ChannelState, pos: number): void {
    state.caughtUpTo = Math.max(state.caughtUpTo, pos);
    this.watchChannelGap(state);
  }

  /** True while the stream misses positions: a gap before events that arrived, or a replay that has not come yet. */
  private behind(follow: StreamFollow): boolean {
    return follow.stream.hasGap || (follow.stream.lastPos ?? 0) < follow.caughtUpTo;
  }

  /**
   * A missing position is asked for again (`refetch`) when it is still missing `gapTimeoutMs`
   * after it was first noticed. The timer is armed when a gap opens and is not moved by later
   * arrivals while that gap stays open (on a busy stream there is always a later arrival); it
   * is cleared when the gap closes, and does nothing while a join or resume is under way.
   */
  private watchGap(follow: StreamFollow, refetch: () => void): void {
    if (!this.behind(follow) || !follow.subscribed) {
      clearTimeout(follow.gapTimer);
      follow.gapTimer = undefined;
      return;
    }
    if (follow.gapTimer !== undefined) return;
    follow.gapTimer = setTimeout(() => {
      follow.gapTimer = undefined;
      if (follow.subscribed && this.behind(follow)) refetch();
    }, this.opts.gapTimeoutMs ?? 2000);
  }

  /** A channel is rejoined from the last position delivered: the node replays what followed. */
  private watchChannelGap(state: ChannelState): void {
    this.watchGap(state, () => {
      if (this.channels.get(state.id) === state) void this.subscribe(state, false);
    });
  }

  /**
   * The node replays to a `resume_user` only the user events that preceded the socket's
   * connection (later ones reach it live), so a user event lost on this connection comes back
   * only to the resume of a new one: the client reconnects.
   */
  private watchUserGap(): void {
    this.watchGap(this.user, () => this.socket?.disconnect().connect());
  }

  /**
   * A join or resume that got no ack, or a transient refusal, is sent again (`again`) with
   * backoff while the socket is connected. After `rate_limited` it waits out the node's 10 s
   * window first (`rateLimitedPauseMs`): a retry inside the window would count against the
   * budget again and, past twice the limit, end the session.
   */
  private retrySubscription(follow: StreamFollow, refusal: string | null, again: () => void): void {
    const socket = this.socket;
    if (!socket?.connected) return;
    clearTimeout(follow.retryTimer);
    const backoff = backoffDelay(++follow.attempt + 1, this.backoff);
    const delay = refusal === 'rate_limited' ? (this.opts.rateLimitedPauseMs ?? 10_000) + backoff : backoff;
    follow.retryTimer = setTimeout(() => {
      follow.retryTimer = undefined;
      if (this.socket === socket && socket.connected) again();
    }, delay);
  }

  /** A join retried while the channel is still followed. */
  private retryJoin(state: ChannelState, reconnect: boolean, refusal: string | null): void {
    if (this.channels.get(state.id) !== state) return;
    this.retrySubscription(state, refusal, () => {
      if (this.channels.get(state.id) === state) void this.subscribe(state, reconnect).catch((err: unknown) => this.fail(err));
    });
  }

  /** Pages `GET …/messages?after=` from the last seq seen, holding live events until done. */
  private async resync(state: ChannelState, pos: number | null): Promise<void> {
    state.stream.hold();
    let count = 0;
    try {
      for (let more = true; more;) {
        const page = await this.rest.messages(state.id, { after: state.lastSeq, limit: 100 });
        if (this.channels.get(state.id) !== state) return;
        for (const m of page.messages) {
          state.lastSeq = Math.max(state.lastSeq, m.seq);
          if (m.deletedAt || !state.seen.add(m.id)) continue;
          count++;
          this.call('message', m, { wakeup: false, wakeReason: null, replayed: true, source: 'resync' });
        }
        more = page.hasMore && page.messages.length > 0;
      }
    } finally {
      this.deliverChannel(state, state.stream.release(pos));
    }
    this.call('resync', { channelId: state.id, messages: count });
  }

  /** After a reconnect: tells the agent it is its turn unless a wakeup already told it since that turn state. */
  private async rereadTurns(): Promise<void> {
    const me = this.userId;
    if (!me) return;
    await Promise.all(
      [...this.channels.values()]
        .filter((c) => hasTurnEngine(c.xType))
        .map(async (c) => {
          const turn = await this.rest.turn(c.id).catch(() => null);
          if (!turn || !tellOnReread(c.turnWake, turn, me)) return;
          this.call('turn', turn, { wakeup: true, wakeReason: null, reason: 'reconnect', replayed: false });
        }),
    );
  }

  /** `join_channel` or `resume_user` with their ack; null when not connected or no ack came in time. */
  private emitAck(event: 'join_channel' | 'resume_user', payload: { channelId: string; since?: number } | { since: number }): Promise<StreamAck | null> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.resolve(null);
    const timed = socket.timeout(this.opts.ackTimeoutMs ?? 5000);
    return new Promise((resolve) => {
      const done = (err: Error | null, ack?: StreamAck) => resolve(err ? null : (ack ?? null));
      if (event === 'join_channel') timed.emit('join_channel', payload as { channelId: string; since?: number }, done);
      else timed.emit('resume_user', payload as { since: number }, done);
    });
  }

  // ------------------------------------------------------------ delivery

  private onChannelEvent(event: ChannelStreamEvent, payload: Payload): void {
    const channelId = (event === 'channel.updated' ? (payload.channel as { id: string }).id : payload.channelId) as string;
    const state = this.channels.get(channelId);
    // A channel no longer followed (an event that crossed its leave): not delivered.
    if (!state) return;
    this.deliverChannel(state, state.stream.push({ event, pos: payload.pos, payload }));
    this.watchChannelGap(state);
  }

  /** Delivers what the stream released, unless the channel was left meanwhile. */
  private deliverChannel(state: ChannelState, events: StreamEvent[]): void {
    for (const e of events) if (this.channels.get(state.id) === state) this.deliver(e, state);
  }

  private deliver({ event, payload }: StreamEvent, state: ChannelState): void {
    const replayed = payload.replayed === true;
    if (event === 'message.created') {
      const m = payload as unknown as MessageCreatedEvent;
      state.lastSeq = Math.max(state.lastSeq, m.seq);
      if (!state.seen.add(m.id)) return;
      if (m.wakeup) noteMessageWake(state.turnWake, this.userId);
      const source = replayed ? 'replay' : 'live';
      this.call('message', m, { wakeup: m.wakeup === true, wakeReason: m.wakeReason ?? null, replayed, source });
    } else if (event === 'turn.updated') {
      const t = payload as unknown as TurnUpdatedEvent;
      noteTurn(state.turnWake, t, this.userId);
      this.call('turn', t, { wakeup: t.wakeup === true, wakeReason: t.wakeReason ?? null, reason: t.reason, replayed });
    } else if (event === 'message.updated' || event === 'message.deleted') {
      state.lastSeq = Math.max(state.lastSeq, Number(payload.seq));
    }
    this.emitEvent(event, payload as never);
  }

  private onUserEvent(event: 'channel.joined' | 'channel.left', payload: Payload): void {
    this.deliverUser(this.user.stream.push({ event, pos: payload.pos, payload }));
    this.watchUserGap();
  }

  private deliverUser(events: StreamEvent[]): void {
    for (const { event, payload } of events) {
      const e = payload as unknown as ChannelMembershipEvent;
      this.userId ??= e.userId;
      if (event === 'channel.joined') {
        this.call('channelJoined', e);
        this.noteMembership(e.channelId, 'joined');
        const known = this.channels.get(e.channelId);
        if (this.opts.autoJoin !== false && (!known?.subscribed || known.listedHead !== null)) {
          void this.follow(e.channelId, e.xType, true).catch((err: unknown) => this.fail(err));
        }
      } else {
        this.call('channelLeft', e);
        if (this.opts.autoJoin !== false) this.leave(e.channelId);
      }
      this.emitEvent(event, e);
    }
  }

  private emitEvent<E extends ServerEventName>(event: E, payload: ServerEventPayload<E>): void {
    for (const fn of this.eventHandlers.get(event) ?? []) {
      try {
        (fn as (p: ServerEventPayload<E>) => void)(payload);
      } catch (err) {
        this.fail(err);
      }
    }
  }
}
