import type { SqlStatement } from '../db/dialect.js';
import { computeWakeSet, type ChannelXType } from './wake.js';

/** The facts the wake rule of a channel needs: its members (general) or its wake-mapped members (triage, custom). */
export interface WakeCandidates {
  memberIds: string[];
  wakeMappingIds: string[];
}

const NONE: WakeCandidates = { memberIds: [], wakeMappingIds: [] };

// Mapped users who are (still) members: a mapped non-member is never woken. Fixed text: the post path runs it per message.
const MAPPED_CANDIDATES = 'select w.user_id from channel_wake_users w join channel_members m on m.channel_id = w.channel_id and m.user_id = w.user_id where w.channel_id = ?';

/**
 * `computeWakeSet` for a channel without a turn engine, as a scalar subquery: the JSON array
 * of the users a post of `authorId` wakes (members or mapped members, never the author;
 * nobody in report). The post path logs its event with it, read under the channel lock in the
 * post's own transaction, so the live event and a replay wake the same users. `agg` is the
 * dialect's JSON aggregate (dialect.ts jsonArrayAgg).
 */
export function wakeSetSubquery(channel: { id: string; x_type: string }, authorId: string, agg: (column: string) => string): SqlStatement {
  switch (channel.x_type) {
    case 'general':
      return { sql: `select coalesce(${agg('user_id')}, '[]') from channel_members where channel_id = ? and user_id <> ?`, parameters: [channel.id, authorId] };
    case 'triage':
    case 'custom':
      return {
        sql: `select coalesce(${agg('w.user_id')}, '[]') from (${MAPPED_CANDIDATES}) w where w.user_id <> ?`,
        parameters: [channel.id, authorId],
      };
    default:
      return { sql: "select '[]'", parameters: [] };
  }
}

/** Rows of wake candidates (`user_id`) as the candidates of the channel's wake rule. */
export function toWakeCandidates(xType: string, rows: readonly { user_id: string }[]): WakeCandidates {
  const ids = rows.map((r) => r.user_id);
  if (xType === 'general') return { memberIds: ids, wakeMappingIds: [] };
  if (xType === 'triage' || xType === 'custom') return { memberIds: ids, wakeMappingIds: ids };
  return NONE;
}

/**
 * Who gets `wakeup: true` on the `message.created` of `authorId`. For discuss/work,
 * `speakerId` is the speaker after the message was applied to the turn engine; it is always
 * a channel member, because the membership hooks keep turn lists and frame queues to
 * members under the same channel lock.
 */
export function wakeRecipients(xType: string, authorId: string, candidates: WakeCandidates, speakerId: string | null): string[] {
  const memberIds = speakerId !== null && (xType === 'discuss' || xType === 'work') ? [speakerId] : candidates.memberIds;
  return computeWakeSet({ xType: xType as ChannelXType, authorId, memberIds, wakeMappingIds: candidates.wakeMappingIds, speakerId });
}
