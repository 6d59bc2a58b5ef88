import type { ServerOptions } from 'socket.io';

/**
 * What a realtime process shares with the other realtime processes of its node (split mode
 * with FABRIC_BACKEND_GUILD_REDIS_URL). Without one, a realtime process knows only itself.
 */
export interface ClusterLink {
  /** The socket.io adapter that shares rooms and broadcasts between the processes. */
  adapter: ServerOptions['adapter'];
  /** Whether the link is up right now: while it is down, nothing waits for the other processes. */
  isConnected(): boolean;
  /**
   * True for the first claim of `key` across all processes within `windowMs`, false for the
   * others; true as well when that cannot be decided promptly (then each process decides alone).
   */
  claim(key: string, windowMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * How long a realtime process waits for the others to answer a question (how many sockets a
 * user has there). A process that takes longer cannot serve its sockets either, so it counts
 * as holding none; healthy processes answer in milliseconds.
 */
export const PEER_ANSWER_TIMEOUT_MS = 1000;

/** Resolves with `promise`'s value, or with `fallback` after `ms` (the promise is left to settle on its own). */
export function withDeadline<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise<T>((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      () => {
        clearTimeout(timer);
        resolve(fallback);
      },
    );
  });
}
