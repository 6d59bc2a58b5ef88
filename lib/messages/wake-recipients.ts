import { wakeDeliveryAgg, type SqlStatement, type WakeDeliverySql } from '../db/dialect.js';
import type { DialectName } from '../db/index.js';
import { computeWakes, TYPE_REASON, type ChannelXType, type WakeReason, type Wakes } from './wake.js';

/** The facts the wake rule of a channel needs: its members (general) or its wake-mapped members (triage, custom). */
export interface WakeCandidates {
  memberIds: string[];
  wakeMappingIds: string[];
}

const NONE: WakeCandidates = { memberIds: [], wakeMappingIds: [] };

// Mapped users who are (still) members: a mapped non-member is never woken. Fixed text: the post path runs it per message.
const GENERAL_CANDIDATES = 'select user_id from channel_members where channel_id = ?';
const MAPPED_CANDIDATES = 'select w.user_id from channel_wake_users w join channel_members m on m.channel_id = w.channel_id and m.user_id = w.user_id where w.channel_id = ?';

/**
 * The one query that reads the wake candidates of a channel (user ids), or null when its
 * type needs none: report, discuss and work (their wake comes from the rule itself or from
 * the turn engine). The post path runs it in the same round trip as its transaction.
 */
export function wakeCandidatesQuery(channel: { id: string; x_type: string }): SqlStatement | null {
  switch (channel.x_type) {
    case 'general':
      return { sql: GENERAL_CANDIDATES, parameters: [channel.id] };
    case 'triage':
    case 'custom':
      return { sql: MAPPED_CANDIDATES, parameters: [channel.id] };
    default:
      return null;
  }
}

/**
 * `computeWakes` for a channel without a turn engine, as a scalar subquery: the JSON delivery
 * object `{wake, wakeReasons}` of the users a post wakes (members or mapped members, never the
 * author; nobody in report), each with its channel type's reason. The post path logs its event
 * with it, read under the channel lock in the post's own transaction, so the live event and a
 * replay wake the same users for the same reason. The subquery is correlated with the stored
 * post: `channel` and `author` are SQL expressions (columns of an outer query, which must not
 * use the aliases `w` and `cm`), so one statement can log the events of many posts.
 */
export function wakeDeliverySubquery(xType: string, dialect: DialectName): WakeDeliverySql {
  const reason = TYPE_REASON[xType as ChannelXType];
  switch (xType) {
    case 'general':
      return (channel, author) => `select ${wakeDeliveryAgg(dialect, 'user_id', reason!)} from channel_members where channel_id = ${channel} and user_id <> ${author}`;
    case 'triage':
    case 'custom':
      // MAPPED_CANDIDATES, joined rather than derived (a derived table cannot see the outer row).
      return (channel, author) =>
        `select ${wakeDeliveryAgg(dialect, 'w.user_id', reason!)} from channel_wake_users w join channel_members cm on cm.channel_id = w.channel_id and cm.user_id = w.user_id ` +
        `where w.channel_id = ${channel} and w.user_id <> ${author}`;
    default:
      return () => `select '{"wake":[],"wakeReasons":{}}'`;
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
 * Who gets `wakeup: true` on the `message.created` of `authorId`, and why. For discuss/work,
 * `speakerId` is the speaker after the message was applied to the turn engine; it is always
 * a channel member, because the membership hooks keep turn lists and frame queues to
 * members under the same channel lock.
 */
export function wakeRecipients(
  xType: string,
  authorId: string,
  candidates: WakeCandidates,
  speaker: { id: string | null; reason: WakeReason | null } = { id: null, reason: null },
): Wakes {
  const speakerId = speaker.id;
  const memberIds = speakerId !== null && (xType === 'discuss' || xType === 'work') ? [speakerId] : candidates.memberIds;
  const input = { xType: xType as ChannelXType, authorId, memberIds, wakeMappingIds: candidates.wakeMappingIds, speakerId };
  return computeWakes(input, speaker.reason);
}
