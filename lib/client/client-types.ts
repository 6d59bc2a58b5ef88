/**
 * The public types of `FabricClient`: its options, what its message and turn handlers are
 * told about each delivery, and how a session ends.
 */
import type { SessionEndedEvent, TurnReason, WakeReason } from '../realtime/events.js';
import type { BackoffOptions } from './backoff.js';
import type { RestOptions } from './rest.js';

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
  /** The event's reason; `reconnect` or `resync` when the turn was re-read after a reconnect, or after a REST resync on the same connection. */
  reason: TurnReason | 'reconnect' | 'resync';
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
  /**
   * How many events of one stream are kept while they wait behind a missing position (or
   * while a REST resync runs); later ones are not kept and come back with the replay that
   * fills the gap, so a stream stuck behind a gap does not grow without end (default 1000).
   */
  maxWaitingEvents?: number;
  /** How long to wait for a join or resume ack (ms). */
  ackTimeoutMs?: number;
  /** Wait before reconnecting after `session.ended {code: "rate_limited"}` (ms; the node counts socket events per 10 s). */
  rateLimitedPauseMs?: number;
  /** Passed to socket.io-client (e.g. `transports`); `auth` and reconnection are the client's. */
  socket?: Record<string, unknown>;
}

/** Why the client stopped: a `session.ended`, or `unauthorized` when the node refused the token on connect. */
export type SessionEnd = { code: SessionEndedEvent['code'] | 'unauthorized'; message: string };
