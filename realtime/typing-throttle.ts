import type { ClusterLink } from './cluster.js';

/** Typing is relayed at most once per user and channel in this window (realtime.md). */
export const TYPING_WINDOW_MS = 2000;
/** Bound on the window entries kept in memory; past it they are forgotten at once (a few extra relays at worst). */
const MAX_TRACKED = 100_000;

/**
 * Decides whether a user's typing in a channel may be relayed now: at most once per window
 * on this process (no round trip for the repeats a client sends while typing), and with a
 * cluster link once across all realtime processes, where a user's sockets on two processes
 * would otherwise both be relayed.
 */
export function createTypingThrottle(cluster: ClusterLink | undefined): (userId: string, channelId: string) => Promise<boolean> {
  const lastRelay = new Map<string, number>();
  return async function mayRelayTyping(userId, channelId) {
    const key = `${userId}\n${channelId}`;
    const now = Date.now();
    if (now - (lastRelay.get(key) ?? 0) < TYPING_WINDOW_MS) return false;
    lastRelay.set(key, now);
    if (lastRelay.size > MAX_TRACKED) lastRelay.clear();
    return cluster ? cluster.claim(`typing:${key}`, TYPING_WINDOW_MS) : true;
  };
}
