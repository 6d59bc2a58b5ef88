/**
 * `FabricClient`: one user's (or agent's) connection to a guild node, for agent plugins and
 * UIs (Node 20+ and browsers). It joins the user's channels and follows `channel.joined/left`,
 * delivers every stream event once and in `pos` order, resumes each stream from its last
 * position on every reconnect (REST paging when the node answers `resync: true`), re-reads the
 * turn after a reconnect, and stops when the node ends the session. See docs/realtime-client.md.
 *
 * This file wires the parts together: followed-channels.ts (the channels followed and the
 * membership bookkeeping), channel-streams.ts (each channel's join, resync and delivery),
 * stream-follow.ts (ack, gap deadline and retry of a stream), subscribers.ts (the handlers).
 */
import { io, type Socket } from 'socket.io-client';
import type { Channel, ChannelMembershipEvent, ChannelXType, Message, ServerEventName, ServerEventPayload } from '../realtime/events.js';
import { CHANNEL_STREAM_EVENTS, USER_STREAM_EVENTS } from '../realtime/events.js';
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { ChannelStreams } from './channel-streams.js';
import { SessionEndedError, type FabricClientOptions, type SessionEnd } from './client-types.js';
import { DEFAULT_MAX_WAITING_EVENTS, FollowedChannels, type ChannelState, type Start } from './followed-channels.js';
import { FabricApiError, FabricRest, type PostInput, type PostResult } from './rest.js';
import { stopTimers, StreamFollower, type ClientSocket, type Payload, type StreamEvent, type StreamFollow } from './stream-follow.js';
import { StreamOrder } from './stream-order.js';
import { Subscribers, type Handlers } from './subscribers.js';

const ENDS_FOR_GOOD = new Set(['token_revoked', 'token_expired', 'removed']);
const closedError = () => new Error('client closed');
/** The node relays at most one `typing` per user and channel per 2 s (realtime.md). */
const TYPING_INTERVAL_MS = 2000;

export class FabricClient {
  readonly rest: FabricRest;
  /** The base URL of the socket.io side (no trailing slash): `realtimeUrl`, or the REST URL. */
  readonly realtimeUrl: string;
  /** The user this token acts as (learned from the first `channel.joined`, or given). */
  userId: string | null;
  private socket: ClientSocket | null = null;
  private readonly subscribers = new Subscribers();
  private readonly channels: FollowedChannels;
  private readonly user: StreamFollow;
  private readonly follower: StreamFollower;
  private readonly channelStreams: ChannelStreams;
  private readonly backoff: BackoffOptions;
  private readonly abort = new AbortController();
  private connects = 0;
  private connecting: Promise<void> | null = null;
  /** No reconnect before this time (after a rate_limited session end). */
  private pauseUntil = 0;
  private reconnectAttempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private ended: SessionEnd | null = null;
  /** The token the socket connects with (see `setToken`). */
  private token: string;
  /** When `typing` was last sent, per channel. */
  private readonly typingSentAt = new Map<string, number>();

  constructor(private readonly opts: FabricClientOptions & { userId?: string }) {
    this.rest = new FabricRest(opts);
    this.realtimeUrl = opts.realtimeUrl?.replace(/\/+$/, '') ?? this.rest.baseUrl;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.userId = opts.userId ?? null;
    this.token = opts.token;
    this.channels = new FollowedChannels(opts);
    this.user = { stream: new StreamOrder(null, opts.maxWaitingEvents ?? DEFAULT_MAX_WAITING_EVENTS), subscribed: false, caughtUpTo: 0, attempt: 0 };
    this.follower = new StreamFollower(opts, this.backoff, () => this.socket);
    this.channelStreams = new ChannelStreams(
      this.channels,
      this.follower,
      this.subscribers,
      this.rest,
      () => this.socket,
      () => this.userId,
    );
  }

  // ------------------------------------------------------------ handlers

  /** Every `message.created`, once and in order, with its per-recipient wake. */
  onMessage(fn: Handlers['message']) {
    return this.subscribers.add('message', fn);
  }
  /** Every `turn.updated`, and after each reconnect the re-read turn when it is this user's turn. */
  onTurn(fn: Handlers['turn']) {
    return this.subscribers.add('turn', fn);
  }
  onChannelJoined(fn: Handlers['channelJoined']) {
    return this.subscribers.add('channelJoined', fn);
  }
  onChannelLeft(fn: Handlers['channelLeft']) {
    return this.subscribers.add('channelLeft', fn);
  }
  /** `session.ended`: with token_revoked/token_expired/removed the client has stopped. */
  onSessionEnded(fn: Handlers['sessionEnded']) {
    return this.subscribers.add('sessionEnded', fn);
  }
  /** A channel was caught up through REST after its position fell out of the node's retention. */
  onResync(fn: Handlers['resync']) {
    return this.subscribers.add('resync', fn);
  }
  onConnected(fn: Handlers['connected']) {
    return this.subscribers.add('connected', fn);
  }
  onDisconnected(fn: Handlers['disconnected']) {
    return this.subscribers.add('disconnected', fn);
  }
  onError(fn: Handlers['error']) {
    return this.subscribers.add('error', fn);
  }

  /**
   * Any server event by name, as the node sent it (stream events in order, once, each with its
   * `pos`); returns the unsubscribe function. Messages caught up through REST (`resync`) are no
   * node events and have no position: they reach `onMessage` only, so take messages from there.
   */
  on<E extends ServerEventName>(event: E, fn: (payload: ServerEventPayload<E>) => void): () => void {
    return this.subscribers.on(event, fn);
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
    return Object.fromEntries([...this.channels.entries()].map(([id, c]) => [id, c.stream.lastPos]));
  }

  /**
   * Connects and, with `autoJoin`, joins the user's channels. Resolves once subscribed (while
   * the node is away it keeps trying); rejects with `SessionEndedError` when the session ends
   * first (a refused token), and with `Error('client closed')` when `close()` comes first or
   * came before.
   */
  connect(): Promise<void> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    if (this.abort.signal.aborted) return Promise.reject(closedError());
    this.connecting ??= this.open();
    return this.connecting;
  }

  private open(): Promise<void> {
    const socket: ClientSocket = io(`${this.realtimeUrl}/realtime`, {
      transports: ['websocket'],
      ...this.opts.socket,
      auth: { token: this.token },
      reconnection: true,
      reconnectionDelay: this.backoff.baseMs,
      reconnectionDelayMax: this.backoff.maxMs,
    });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      let settled = false;
      // Closed (or ended) before the first subscription: the wait is over, it rejects.
      this.abort.signal.addEventListener(
        'abort',
        () => {
          if (settled) return;
          settled = true;
          reject(this.ended ? new SessionEndedError(this.ended.code, this.ended.message) : closedError());
        },
        { once: true },
      );
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
          this.subscribers.call('connected', { reconnect });
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
          } else this.subscribers.fail(refused);
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
        this.subscribers.call('disconnected', { reason });
        // The server closed the socket: socket.io does not come back by itself.
        if (reason === 'io server disconnect' && !this.ended) this.scheduleReconnect();
      });
      socket.on('session.ended', (e) => {
        this.subscribers.call('sessionEnded', e);
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
      for (const name of CHANNEL_STREAM_EVENTS) socket.on(name, (p: unknown) => this.channelStreams.onEvent(name, p as Payload));
      for (const name of USER_STREAM_EVENTS) socket.on(name, (p: unknown) => this.onUserEvent(name, p as Payload));
      socket.on('typing', (e) => this.subscribers.emitEvent('typing', e));
      socket.on('presence', (e) => this.subscribers.emitEvent('presence', e));
    });
  }

  /**
   * Replaces the token (a refreshed Center token of the same user): REST sends it from the next
   * request on, and a connected socket reconnects with it now (the node checks a socket's token
   * when it connects, and ends the session when that token expires or is revoked). Every stream
   * resumes from its position, so nothing is missed or delivered twice across the switch. Call
   * it before the old token expires; after the session ended it throws `SessionEndedError`.
   */
  setToken(token: string): void {
    const refused = this.refusal();
    if (refused) throw refused;
    this.token = token;
    this.rest.setToken(token);
    const socket = this.socket;
    if (!socket) return;
    socket.auth = { token };
    if (socket.connected) socket.disconnect().connect();
  }

  /** Disconnects for good (no reconnect); posts in flight are aborted. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    for (const follow of [this.user, ...this.channels.values()]) stopTimers(follow);
    this.abort.abort(closedError());
    this.socket?.close();
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

  /** Why calls are refused now: the session ended (`SessionEndedError`), or null. */
  private refusal(): SessionEndedError | null {
    return this.ended ? new SessionEndedError(this.ended.code, this.ended.message) : null;
  }

  /** Posts a message (see FabricRest.post: `clientMsgId` and retries). */
  post(channelId: string, input: PostInput | string): Promise<PostResult> {
    const refused = this.refusal();
    if (refused) return Promise.reject(refused);
    return this.rest.post(channelId, typeof input === 'string' ? { content: input } : input, this.abort.signal);
  }

  /** `/no-reply`: pass the turn without a message (turns.md). */
  noReply(channelId: string, clientMsgId?: string): Promise<PostResult> {
    return this.post(channelId, { content: '/no-reply', clientMsgId });
  }

  /**
   * Tells the channel's other members that this user is typing (`typing`, realtime.md). Call
   * it as often as you like (e.g. on every keystroke): it is sent at most once per channel per
   * 2 s, as the node relays no more and counts every socket event against its flood limit.
   * Dropped while not connected (typing is never replayed).
   */
  typing(channelId: string): void {
    const socket = this.socket;
    if (this.ended || !socket?.connected) return;
    const now = Date.now();
    if (now - (this.typingSentAt.get(channelId) ?? -Infinity) < TYPING_INTERVAL_MS) return;
    for (const [id, at] of this.typingSentAt) if (now - at >= TYPING_INTERVAL_MS) this.typingSentAt.delete(id);
    this.typingSentAt.set(channelId, now);
    socket.emit('typing', { channelId });
  }

  /** The latest `limit` messages of a channel (context for an agent), ascending seq. */
  async recentMessages(channelId: string, limit = 50): Promise<Message[]> {
    const refused = this.refusal();
    if (refused) throw refused;
    return (await this.rest.messages(channelId, { limit })).messages;
  }

  /**
   * Subscribes to a channel by hand (a reader may follow a public channel it is not a member
   * of); it stays followed across reconnects until `leave`. After `close()` (also one that
   * comes while it is in flight) it rejects with `Error('client closed')`.
   */
  async join(channelId: string): Promise<void> {
    const refused = this.refusal();
    if (refused) throw refused;
    if (this.abort.signal.aborted) throw closedError();
    this.channels.clearLeftByApp(channelId);
    const state = await this.follow(channelId, null, false);
    if (this.abort.signal.aborted) {
      this.channels.forget(channelId, true);
      throw this.refusal() ?? closedError();
    }
    if (state) state.byHand = true;
  }

  /**
   * Follows a channel: reads it, then subscribes. A `leave` while this is in flight wins:
   * null, and no state is created (the read's error, if any, no longer matters).
   */
  private async follow(channelId: string, xType: ChannelXType | null, membership: boolean): Promise<ChannelState | null> {
    let state = this.channels.get(channelId);
    if (!state) {
      const leaves = this.channels.leaves(channelId);
      const stale = () => this.channels.leaves(channelId) !== leaves;
      let channel: Channel;
      try {
        channel = await this.rest.channel(channelId);
      } catch (err) {
        if (stale()) return null;
        throw err;
      }
      if (stale()) return null;
      state = this.channels.getOrCreate(channelId, channel.xType, membership ? this.channels.backlogStart(channel) : this.channels.headStart(channel));
    }
    state.xType ??= xType;
    // Joined again from the earlier start once the join in flight (from the head) is answered.
    if (membership && this.channels.startAtMembership(state)) await state.joining;
    else if (membership && state.subscribed) return state;
    await this.channelStreams.subscribe(state, false);
    return this.channels.get(channelId) === state ? state : null;
  }

  /**
   * Unsubscribes from a channel and forgets its position; a `join` or follow in flight for it
   * is dropped. The channel stays left across reconnects (the listing does not follow it again,
   * though the user is still a member) until `join(channelId)`, or a new `channel.joined`.
   */
  leave(channelId: string): void {
    this.channels.markLeftByApp(channelId);
    this.unfollow(channelId);
  }

  private unfollow(channelId: string): void {
    this.channels.noteMembership(channelId, 'left');
    this.channels.forget(channelId, true);
    this.socket?.emit('leave_channel', { channelId }, () => undefined);
  }

  /**
   * A `channel.left`: the follow that came with the membership ends. One the application asked
   * for with `join()` does not depend on membership (a reader of a public channel, a guild
   * admin): the node took the socket out of the room, so it is joined again from its position,
   * and the node says whether the user may still read it (a private channel is refused with
   * `not_found` and dropped).
   */
  private membershipEnded(channelId: string): void {
    const state = this.channels.get(channelId);
    if (!state?.byHand) {
      if (this.opts.autoJoin !== false) this.unfollow(channelId);
      return;
    }
    this.channels.noteMembership(channelId, 'left');
    // After a join in flight, whose ack may predate the removal.
    void (state.joining ?? Promise.resolve())
      .then(() => {
        if (this.channels.get(channelId) !== state) return;
        state.subscribed = false;
        return this.channelStreams.subscribe(state, false);
      })
      .catch((err: unknown) => this.subscribers.fail(err));
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
        this.subscribers.fail(err);
      }
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, this.backoff)));
      if (!socket.connected || this.ended) return false;
    }
  }

  private async onConnect(reconnect: boolean): Promise<void> {
    const socket = this.socket!;
    await Promise.all([this.resumeUser(), this.subscribeAll(reconnect)]);
    if (reconnect && socket.connected) await this.channelStreams.rereadTurns();
  }

  /**
   * Every channel the user is a member of (the listing is the truth after time away), or the
   * ones joined by hand. A channel joined (`channel.joined`) or left while the listing was read
   * may have been read before that: it is neither dropped nor followed again by the listing,
   * and a joined one starts as any channel joined after the start.
   */
  private async subscribeAll(reconnect: boolean): Promise<void> {
    if (this.opts.autoJoin === false) {
      await Promise.all([...this.channels.values()].map((c) => this.channelStreams.subscribe(c, reconnect)));
      return;
    }
    const meanwhile = this.channels.listingStarted();
    let member: Map<string, Channel>;
    try {
      member = await this.memberChannels();
    } finally {
      this.channels.listingDone(meanwhile);
    }
    for (const [id, c] of this.channels.entries()) if (!member.has(id) && !c.byHand && meanwhile.get(id) !== 'joined') this.channels.forget(id, false);
    for (const id of member.keys()) if (meanwhile.get(id) === 'left' || this.channels.isLeftByApp(id)) member.delete(id);
    const byHand = [...this.channels.values()].filter((c) => c.byHand && !member.has(c.id));
    await Promise.all([
      // A channel new in a reconnect listing became the user's while the client was away.
      ...[...member].map(([id, ch]) => {
        const start: Start = reconnect || meanwhile.get(id) === 'joined' ? this.channels.backlogStart(ch) : { ...this.channels.headStart(ch), listedHead: true };
        return this.channelStreams.subscribe(this.channels.getOrCreate(id, ch.xType, start), reconnect);
      }),
      ...byHand.map((c) => this.channelStreams.subscribe(c, reconnect)),
    ]);
  }

  private async memberChannels(): Promise<Map<string, Channel>> {
    const out = new Map<string, Channel>();
    for (const g of await this.rest.guilds()) {
      for (const c of await this.rest.channels(g.id)) if (c.isMember) out.set(c.id, c);
    }
    return out;
  }

  // ------------------------------------------------------------ user stream

  /**
   * The user stream from its last position (joins and leaves while away come back in order).
   * Not sent before a first user event: `since: 0` would replay the whole retained stream,
   * and the channel listing already says where the user is. A resume without an ack, or
   * refused for a reason that is not `bad_request`, is sent again as a join would be; one
   * refused with `bad_request` (`since` above the node's position) starts the stream anew.
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
    const ack = await this.follower.emitAck('resume_user', { since });
    if (this.connects !== connection) return;
    if (!ack) return this.follower.retrySubscription(user, null, () => void this.resumeUser());
    if (!ack.ok) {
      this.subscribers.fail(new FabricApiError(0, ack.error.code, `resume_user: ${ack.error.message}`));
      // A `since` above the node's position: the node went back (a database restored from a
      // backup) and gives those positions to new events. The stream forgets its position, so
      // that the next user event starts it; what changed meanwhile, the listing has read.
      if (ack.error.code === 'bad_request') {
        user.stream.reset();
        user.caughtUpTo = 0;
        user.subscribed = this.connected;
        return;
      }
      this.follower.retrySubscription(user, ack.error.code, () => void this.resumeUser());
      return;
    }
    user.subscribed = true;
    user.attempt = 0;
    if (ack.resync) this.deliverUser(user.stream.startAt(ack.pos));
    else user.caughtUpTo = Math.max(user.caughtUpTo, ack.pos);
    this.watchUserGap();
  }

  /**
   * The node replays to a `resume_user` only the user events that preceded the socket's
   * connection (later ones reach it live), so a user event lost on this connection comes back
   * only to the resume of a new one: the client reconnects.
   */
  private watchUserGap(): void {
    this.follower.watchGap(this.user, () => this.socket?.disconnect().connect());
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
        this.subscribers.call('channelJoined', e);
        this.channels.noteMembership(e.channelId, 'joined');
        if (this.opts.autoJoin !== false) this.channels.clearLeftByApp(e.channelId);
        const known = this.channels.get(e.channelId);
        if (this.opts.autoJoin !== false && (!known?.subscribed || known.listedHead !== null)) {
          void this.follow(e.channelId, e.xType, true).catch((err: unknown) => this.subscribers.fail(err));
        }
      } else {
        this.subscribers.call('channelLeft', e);
        this.membershipEnded(e.channelId);
      }
      this.subscribers.emitEvent(event, e);
    }
  }
}
