/**
 * Following one stream (a channel's, or the user's) on the current connection: the join or
 * resume and its ack deadline, the gap deadline, and the retry of a join or resume that got no
 * ack or a transient refusal. Each stream's state is a StreamFollow; StreamFollower holds what
 * they share (the options, the backoff, the current socket).
 */
import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerEventName, ServerToClientEvents, StreamAck } from '../realtime/events.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import type { FabricClientOptions } from './client-types.js';
import type { StreamOrder } from './stream-order.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export type Payload = { pos?: number; replayed?: true } & Record<string, unknown>;
export type StreamEvent = { event: ServerEventName; pos?: number; payload: Payload };

/** One stream (a channel's, or the user's) as the client follows it on the current connection. */
export interface StreamFollow {
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

/** True while the stream misses positions: a gap before events that arrived, or a replay that has not come yet. */
export function behind(follow: StreamFollow): boolean {
  return follow.stream.hasGap || (follow.stream.lastPos ?? 0) < follow.caughtUpTo;
}

/** Clears the gap deadline and the pending retry. */
export function stopTimers(follow: StreamFollow): void {
  clearTimeout(follow.gapTimer);
  follow.gapTimer = undefined;
  clearTimeout(follow.retryTimer);
  follow.retryTimer = undefined;
}

export class StreamFollower {
  constructor(
    private readonly opts: FabricClientOptions,
    readonly backoff: BackoffOptions,
    private readonly currentSocket: () => ClientSocket | null,
  ) {}

  /**
   * A missing position is asked for again (`refetch`) when it is still missing `gapTimeoutMs`
   * after it was first noticed. The timer is armed when a gap opens and is not moved by later
   * arrivals while that gap stays open (on a busy stream there is always a later arrival); it
   * is cleared when the gap closes, and does nothing while a join or resume is under way.
   */
  watchGap(follow: StreamFollow, refetch: () => void): void {
    if (!behind(follow) || !follow.subscribed) {
      clearTimeout(follow.gapTimer);
      follow.gapTimer = undefined;
      return;
    }
    if (follow.gapTimer !== undefined) return;
    follow.gapTimer = setTimeout(() => {
      follow.gapTimer = undefined;
      if (follow.subscribed && behind(follow)) refetch();
    }, this.opts.gapTimeoutMs ?? 2000);
  }

  /**
   * A join or resume that got no ack, or a transient refusal, is sent again (`again`) with
   * backoff while the socket is connected. After `rate_limited` it waits out the node's 10 s
   * window first (`rateLimitedPauseMs`): a retry inside the window would count against the
   * budget again and, past twice the limit, end the session.
   */
  retrySubscription(follow: StreamFollow, refusal: string | null, again: () => void): void {
    const socket = this.currentSocket();
    if (!socket?.connected) return;
    clearTimeout(follow.retryTimer);
    const backoff = backoffDelay(++follow.attempt + 1, this.backoff);
    const delay = refusal === 'rate_limited' ? (this.opts.rateLimitedPauseMs ?? 10_000) + backoff : backoff;
    follow.retryTimer = setTimeout(() => {
      follow.retryTimer = undefined;
      if (this.currentSocket() === socket && socket.connected) again();
    }, delay);
  }

  /** `join_channel` or `resume_user` with their ack; null when not connected or no ack came in time. */
  emitAck(event: 'join_channel' | 'resume_user', payload: { channelId: string; since?: number } | { since: number }): Promise<StreamAck | null> {
    const socket = this.currentSocket();
    if (!socket?.connected) return Promise.resolve(null);
    const timed = socket.timeout(this.opts.ackTimeoutMs ?? 5000);
    return new Promise((resolve) => {
      const done = (err: Error | null, ack?: StreamAck) => resolve(err ? null : (ack ?? null));
      if (event === 'join_channel') timed.emit('join_channel', payload as { channelId: string; since?: number }, done);
      else timed.emit('resume_user', payload as { since: number }, done);
    });
  }
}
