/**
 * The streams of the followed channels: each one's `join_channel` (from its last position,
 * retried, and sent again while a gap stays open), a REST resync when the node has no replay
 * left, and delivery of its events once and in order, with the turn-wake bookkeeping
 * (turn-wake.ts) and the turn re-read after a reconnect.
 */
import type { ChannelStreamEvent, ChannelXType, MessageCreatedEvent, TurnUpdatedEvent } from '../realtime/events.js';
import { backoffDelay, sleep } from './backoff.js';
import type { FollowedChannels, ChannelState } from './followed-channels.js';
import { FabricApiError, type FabricRest } from './rest.js';
import type { ClientSocket, Payload, StreamEvent, StreamFollower } from './stream-follow.js';
import type { Subscribers } from './subscribers.js';
import { noteMessageWake, noteTurn, tellOnReread } from './turn-wake.js';

const hasTurnEngine = (xType: ChannelXType | null) => xType === 'discuss' || xType === 'work';

export class ChannelStreams {
  constructor(
    private readonly channels: FollowedChannels,
    private readonly follower: StreamFollower,
    private readonly subscribers: Subscribers,
    private readonly rest: FabricRest,
    private readonly currentSocket: () => ClientSocket | null,
    private readonly userId: () => string | null,
  ) {}

  /**
   * `join_channel`, with `since` when a position is known (the node replays what followed).
   * A `resync` answer, or a node that sends no positions after a reconnect, is caught up
   * through REST from the last seq seen.
   */
  subscribe(state: ChannelState, reconnect: boolean): Promise<void> {
    state.joining ??= this.subscribeOnce(state, reconnect).finally(() => (state.joining = null));
    return state.joining;
  }

  private async subscribeOnce(state: ChannelState, reconnect: boolean): Promise<void> {
    clearTimeout(state.retryTimer);
    state.retryTimer = undefined;
    const since = state.stream.lastPos;
    // Held until the ack: replayed events may arrive before it, and they are ordered anyway.
    const ack = await this.follower.emitAck('join_channel', since === null ? { channelId: state.id } : { channelId: state.id, since });
    if (!ack) return this.retryJoin(state, reconnect, null);
    if (!ack.ok) {
      const code = ack.error.code;
      if (code === 'not_found' || code === 'forbidden') {
        if (this.channels.get(state.id) === state) this.channels.forget(state.id, false);
        return;
      }
      this.subscribers.fail(new FabricApiError(0, code, `join_channel ${state.id}: ${ack.error.message}`));
      // A `since` above the node's position: the node went back (a database restored from a
      // backup). Followed again from where it stands now, caught up through REST.
      if (code === 'bad_request' && since !== null && this.channels.get(state.id) === state) {
        this.channels.rewind(state);
        return this.subscribeOnce(state, reconnect);
      }
      // A refusal that says nothing about the channel (rate_limited, internal, a database
      // hiccup): tried again, or the channel would stay unfollowed for the whole connection.
      if (code !== 'bad_request') this.retryJoin(state, reconnect, code);
      return;
    }
    if (this.channels.get(state.id) !== state) {
      // Left while the join was in flight. The node may have handled the leave before the
      // join and put the socket in the room after it: leave again, unless the channel is
      // followed anew meanwhile (its own join keeps the socket in the room).
      if (!this.channels.has(state.id)) this.currentSocket()?.emit('leave_channel', { channelId: state.id }, () => undefined);
      return;
    }
    state.subscribed = true;
    const pos = typeof ack.pos === 'number' ? ack.pos : null;
    if (ack.resync || (reconnect && pos === null) || state.resyncOnAck) {
      // Events that arrived during the paging and were not kept are a gap to fill.
      if (await this.resync(state, pos)) {
        state.attempt = 0;
        this.watchGap(state);
        // What woke the agent may be among the events not replayed: the turn is read again (a
        // reconnect does that for every channel once they are all joined).
        const me = this.userId();
        if (!reconnect && me && hasTurnEngine(state.xType)) void this.rereadTurn(state, me, this.currentSocket(), 'resync');
      }
      // A page failed: the stream stayed where it was, so the join is sent again (with
      // backoff) and the resync pages on from the last seq it delivered.
      else this.retryJoin(state, reconnect, null);
      return;
    }
    state.attempt = 0;
    if (pos === null) return;
    // Without `since` the ack starts the stream. With it, replayed events may still be on
    // their way (before or after the ack): the position is not moved past them, but a
    // replay that does not come is noticed like any other gap.
    if (since === null) this.deliver(state, state.stream.startAt(pos));
    else this.checkCaughtUp(state, pos);
  }

  /** After a join with `since`: the replay up to the ack's `pos` must come, or the channel is rejoined. */
  private checkCaughtUp(state: ChannelState, pos: number): void {
    state.caughtUpTo = Math.max(state.caughtUpTo, pos);
    this.watchGap(state);
  }

  /** A channel is rejoined from the last position delivered: the node replays what followed. */
  private watchGap(state: ChannelState): void {
    this.follower.watchGap(state, () => {
      if (this.channels.get(state.id) === state) void this.subscribe(state, false).catch((err: unknown) => this.subscribers.fail(err));
    });
  }

  /** A join retried while the channel is still followed. */
  private retryJoin(state: ChannelState, reconnect: boolean, refusal: string | null): void {
    if (this.channels.get(state.id) !== state) return;
    this.follower.retrySubscription(state, refusal, () => {
      if (this.channels.get(state.id) === state) void this.subscribe(state, reconnect).catch((err: unknown) => this.subscribers.fail(err));
    });
  }

  /**
   * Pages `GET …/messages?after=` from the last seq seen, holding live events until done; true
   * when done. A page that fails is reported and the stream is not moved to `pos`: the
   * messages not fetched yet are still missing, so the channel stays behind (held events wait
   * for them) until a later resync pages on from the last seq delivered.
   */
  private async resync(state: ChannelState, pos: number | null): Promise<boolean> {
    state.stream.hold();
    let count = 0;
    let done = false;
    try {
      for (let more = true; more;) {
        const page = await this.rest.messages(state.id, { after: state.lastSeq, limit: 100 });
        if (this.channels.get(state.id) !== state) return true;
        for (const m of page.messages) {
          state.lastSeq = Math.max(state.lastSeq, m.seq);
          if (m.deletedAt || !state.seen.add(m.id)) continue;
          count++;
          this.subscribers.call('message', m, { wakeup: false, wakeReason: null, replayed: true, source: 'resync' });
        }
        more = page.hasMore && page.messages.length > 0;
      }
      done = true;
    } catch (err) {
      this.subscribers.fail(err);
    } finally {
      this.deliver(state, state.stream.release(done ? pos : null));
    }
    if (!done) {
      state.caughtUpTo = Math.max(state.caughtUpTo, pos ?? 0);
      return false;
    }
    state.resyncOnAck = false;
    this.subscribers.call('resync', { channelId: state.id, messages: count });
    return true;
  }

  /** After a reconnect: tells the agent it is its turn unless a wakeup already told it since that turn state. */
  async rereadTurns(): Promise<void> {
    const me = this.userId();
    if (!me) return;
    const socket = this.currentSocket();
    await Promise.all([...this.channels.values()].filter((c) => hasTurnEngine(c.xType)).map((c) => this.rereadTurn(c, me, socket, 'reconnect')));
  }

  /**
   * One channel's turn re-read (after a reconnect, or a resync on the same connection). A read that fails for a transient reason (no answer, 5xx, 429)
   * is reported and tried again with backoff while the connection lasts and the channel is
   * followed: a turn not read is a wake the agent never gets. A channel no longer readable
   * (403, 404) has nothing to tell; its join says the rest.
   */
  private async rereadTurn(state: ChannelState, me: string, socket: ClientSocket | null, reason: 'reconnect' | 'resync'): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number;
      try {
        const turn = await this.rest.turn(state.id);
        if (tellOnReread(state.turnWake, turn, me)) this.subscribers.call('turn', turn, { wakeup: true, wakeReason: null, reason, replayed: false });
        return;
      } catch (err) {
        const status = err instanceof FabricApiError ? err.status : -1;
        if (status === 403 || status === 404) return;
        this.subscribers.fail(err);
        if (status !== 0 && status !== 429 && status < 500) return;
        retryAfterMs = (err as FabricApiError).retryAfterMs ?? 0;
      }
      await sleep(Math.max(retryAfterMs, backoffDelay(attempt, this.follower.backoff)));
      if (this.currentSocket() !== socket || !socket?.connected || this.channels.get(state.id) !== state) return;
    }
  }

  /** A channel stream event as it arrives from the socket. */
  onEvent(event: ChannelStreamEvent, payload: Payload): void {
    const channelId = (event === 'channel.updated' ? (payload.channel as { id: string }).id : payload.channelId) as string;
    const state = this.channels.get(channelId);
    // A channel no longer followed (an event that crossed its leave): not delivered.
    if (!state) return;
    this.deliver(state, state.stream.push({ event, pos: payload.pos, payload }));
    this.watchGap(state);
  }

  /** Delivers what the stream released, unless the channel was left meanwhile. */
  private deliver(state: ChannelState, events: StreamEvent[]): void {
    for (const e of events) if (this.channels.get(state.id) === state) this.deliverOne(e, state);
  }

  private deliverOne({ event, payload }: StreamEvent, state: ChannelState): void {
    const replayed = payload.replayed === true;
    if (event === 'message.created') {
      const m = payload as unknown as MessageCreatedEvent;
      state.lastSeq = Math.max(state.lastSeq, m.seq);
      if (!state.seen.add(m.id)) return;
      if (m.wakeup) noteMessageWake(state.turnWake, this.userId());
      const source = replayed ? 'replay' : 'live';
      this.subscribers.call('message', m, { wakeup: m.wakeup === true, wakeReason: m.wakeReason ?? null, replayed, source });
    } else if (event === 'turn.updated') {
      const t = payload as unknown as TurnUpdatedEvent;
      noteTurn(state.turnWake, t, this.userId());
      this.subscribers.call('turn', t, { wakeup: t.wakeup === true, wakeReason: t.wakeReason ?? null, reason: t.reason, replayed });
    } else if (event === 'message.updated' || event === 'message.deleted') {
      state.lastSeq = Math.max(state.lastSeq, Number(payload.seq));
    }
    this.subscribers.emitEvent(event, payload as never);
  }
}
