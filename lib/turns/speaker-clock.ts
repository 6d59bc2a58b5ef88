import type { TurnEvent } from './engine.js';

/**
 * The speaker timeout's clock (agent-rooms.md "Speaker timeout"). Pure: the turn engine has
 * no clock, so the store keeps, next to the state, when the current speaker became speaker
 * and its deadline, and moves them with this function after every event.
 */
export interface SpeakerClock {
  /** Epoch ms the current speaker's clock started; null without a speaker. */
  speakerSince: number | null;
  /** speakerSince + the timeout; null without a speaker or without a timeout. */
  deadline: number | null;
}

export const NO_CLOCK: SpeakerClock = { speakerSince: null, deadline: null };

/**
 * The clock after an event that took the speaker from `before` to `after`. It restarts when
 * the speaker changed, and when the state changed because the speaker answered (message or
 * `/no-reply`) or was skipped (`/force-proceed`, timeout) and is speaker again (a round of
 * one, a new round that opens with it): each is a new turn. Otherwise it keeps running.
 */
export function nextSpeakerClock(
  prev: SpeakerClock,
  event: TurnEvent,
  before: string | null,
  after: string | null,
  changed: boolean,
  timeoutSeconds: number | null,
  now: number,
): SpeakerClock {
  if (after === null) return NO_CLOCK;
  const newTurn = changed && (event.type === 'force-proceed' || event.type === 'timeout' || ((event.type === 'message' || event.type === 'no-reply') && event.actorId === before));
  const since = after !== before || newTurn || prev.speakerSince === null ? now : prev.speakerSince;
  return withTimeout(since, timeoutSeconds);
}

/** The clock of a speaker whose turn started at `since`, under the channel's timeout. */
export function withTimeout(since: number, timeoutSeconds: number | null): SpeakerClock {
  return { speakerSince: since, deadline: timeoutSeconds === null ? null : since + timeoutSeconds * 1000 };
}

/** True when the speaker's deadline has passed at `now`. */
export const isDue = (clock: SpeakerClock, now: number) => clock.deadline !== null && clock.deadline <= now;
