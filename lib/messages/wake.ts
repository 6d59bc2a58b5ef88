/**
 * Wake rules (overview.md "Wake rules"): who gets `wakeup: true` for a `message.created`.
 * Pure. Everyone else in the channel room, readers who are not members included, gets false.
 */

import type { ChannelXType } from '../realtime/events.js';

export type { ChannelXType };

/** Why a user gets `wakeup: true` (agent-rooms.md "Wake reasons"). */
export const WAKE_REASONS = ['general', 'on_duty', 'listener', 'speaker', 'mention', 'reply', 'frame', 'timeout'] as const;
export type WakeReason = (typeof WAKE_REASONS)[number];
/** Woken users and why each is woken. */
export type Wakes = Record<string, WakeReason>;

/** The reason of a wake that comes from the channel type alone (the turn engine gives discuss/work theirs). */
export const TYPE_REASON: Partial<Record<ChannelXType, WakeReason>> = { general: 'general', triage: 'on_duty', custom: 'listener' };

/** `computeWakeSet` with each user's reason; `speakerReason` is the turn engine's (discuss/work). */
export function computeWakes(input: WakeInput, speakerReason: WakeReason | null): Wakes {
  const reason = TYPE_REASON[input.xType] ?? speakerReason;
  if (reason === null) return {};
  // Defined, not assigned: `wakes[id] = …` with the id `__proto__` would set no key.
  return Object.fromEntries(computeWakeSet(input).map((id) => [id, reason]));
}

export interface WakeInput {
  xType: ChannelXType;
  authorId: string;
  memberIds: readonly string[];
  /** The channel's wake mapping (used by triage and custom only). */
  wakeMappingIds: readonly string[];
  /** The current speaker after the message was applied to the turn engine (discuss and work only). */
  speakerId: string | null;
}

/** Users whose sockets get wakeup: true for a message.created (overview.md wake rules). */
export function computeWakeSet(input: WakeInput): string[] {
  const { xType, authorId, memberIds, wakeMappingIds, speakerId } = input;
  const members = new Set(memberIds);
  // Every candidate must be a member and not the author: non-members always get
  // wakeup: false (overview.md), and a message never wakes its own author.
  const pick = (candidates: readonly string[]) => [...new Set(candidates.filter((id) => id !== authorId && members.has(id)))];
  switch (xType) {
    case 'general':
      return pick(memberIds);
    case 'report':
      return [];
    case 'triage':
    case 'custom':
      // A wake-mapped user who is not (or no longer) a member is not woken: the wake mapping
      // PUT adds its users as members, so a mapped non-member has left or been removed.
      return pick(wakeMappingIds);
    case 'discuss':
    case 'work':
      return speakerId === null ? [] : pick([speakerId]);
    default: {
      const unknown: never = xType;
      throw new Error(`unknown channel xType ${String(unknown)}`);
    }
  }
}
