/**
 * Wake rules (overview.md "Wake rules"): who gets `wakeup: true` for a `message.created`.
 * Pure. Everyone else in the channel room, readers who are not members included, gets false.
 */

import type { ChannelXType } from '../realtime/events.js';

export type { ChannelXType };

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
  const pick = (candidates: readonly string[]) => [
    ...new Set(candidates.filter((id) => id !== authorId && members.has(id))),
  ];
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
