/**
 * The per-socket event limit (agent-rooms.md "Flood control"): how many client events a
 * socket sent in the last 10 s, and what that means for the next one. Pure: the clock is a
 * parameter. The window is ten one-second slots, so "the last 10 s" is the current second
 * and the nine before it: ten numbers per socket, whatever the rate.
 */
export type SocketEventVerdict =
  /** Within the limit: handle it. */
  | 'ok'
  /** Over the limit: answer its ack with `rate_limited` (an event without an ack is dropped). */
  | 'limited'
  /** Over twice the limit: end the session (`session.ended {code: "rate_limited"}`) and disconnect. */
  | 'disconnect';

const SLOTS = 10;
const SLOT_MS = 1000;

export interface SocketEventBudget {
  /** Counts one event received at `nowMs` and judges it. */
  count(nowMs: number): SocketEventVerdict;
}

/** A budget of `perWindow` events per 10 s; 0 turns the limit off (every event is 'ok'). */
export function createSocketEventBudget(perWindow: number): SocketEventBudget {
  if (perWindow <= 0) return { count: () => 'ok' };
  const counts = new Array<number>(SLOTS).fill(0);
  let lastSlot = -Infinity;
  let total = 0;
  return {
    count(nowMs) {
      const slot = Math.floor(nowMs / SLOT_MS);
      if (slot - lastSlot >= SLOTS) {
        counts.fill(0);
        total = 0;
      } else {
        // A clock that stepped back keeps counting into the newest slot.
        for (let s = lastSlot + 1; s <= slot; s++) {
          total -= counts[s % SLOTS];
          counts[s % SLOTS] = 0;
        }
      }
      if (slot > lastSlot) lastSlot = slot;
      counts[lastSlot % SLOTS] += 1;
      total += 1;
      if (total <= perWindow) return 'ok';
      return total <= 2 * perWindow ? 'limited' : 'disconnect';
    },
  };
}
