/**
 * Whether the agent has been told it is its turn: a re-read of the turn after a reconnect
 * tells it only about a turn state it was not already woken for. Pure, one state per channel.
 */
import type { Turn, TurnReason } from '../realtime/events.js';

export interface TurnWakeState {
  /** The last turn.updated delivered. */
  lastTurn: Pick<Turn, 'speakerId' | 'updatedAt'> | null;
  /** A woken message.created was delivered after it. */
  wokenSinceTurn: boolean;
  /** `updatedAt` of the turn state the agent was last told is its turn. */
  toldTurnAt: string | null;
}

export const initialTurnWake = (): TurnWakeState => ({ lastTurn: null, wokenSinceTurn: false, toldTurnAt: null });

/**
 * A woken message.created. In discuss/work rooms it comes next to the turn.updated of the
 * same post (reason `message`, `wakeup: false`), in either order: after it, it marks that
 * turn state as told.
 */
export function noteMessageWake(s: TurnWakeState, me: string | null): void {
  s.wokenSinceTurn = true;
  if (s.lastTurn && me !== null && s.lastTurn.speakerId === me) s.toldTurnAt = s.lastTurn.updatedAt;
}

/** A turn.updated: told when it wakes the agent, or when its post's message.created already did. */
export function noteTurn(s: TurnWakeState, t: Pick<Turn, 'speakerId' | 'updatedAt'> & { wakeup: boolean; reason: TurnReason }, me: string | null): void {
  const mine = me !== null && t.speakerId === me;
  if (mine && (t.wakeup || (t.reason === 'message' && s.wokenSinceTurn))) s.toldTurnAt = t.updatedAt;
  s.lastTurn = { speakerId: t.speakerId, updatedAt: t.updatedAt };
  s.wokenSinceTurn = false;
}

/** After a reconnect: true (and now told) when the re-read turn is the agent's and it was not told about this state. */
export function tellOnReread(s: TurnWakeState, turn: Pick<Turn, 'status' | 'speakerId' | 'updatedAt'>, me: string | null): boolean {
  if (me === null || turn.status !== 'active' || turn.speakerId !== me || s.toldTurnAt === turn.updatedAt) return false;
  s.toldTurnAt = turn.updatedAt;
  return true;
}
