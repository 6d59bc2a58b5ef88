import type { BatchedPost } from './mysql-post-statements.js';

/**
 * The members version (`channels.members_version`, raised by every removal of a member) at
 * which each author was last stored in each channel by this process's post batches. The next
 * posts of that author there are checked against the version, one column of the row the seq
 * bump locks anyway, instead of against the channel's and the guild's member rows: those
 * subqueries were about a sixth of MariaDB's time per batch (docs/performance.md, series 22).
 * A stale entry costs a retry, never a wrong answer: a changed version refuses the post, which
 * is then checked against the member rows (mysql-post-batches.ts). Bounded: past MAX_ENTRIES
 * the oldest entry is forgotten.
 */
const MAX_ENTRIES = 100_000;

export interface MembersVersions {
  /** The version `memberId` was last stored at in `channelId`, if known. */
  of(channelId: string, memberId: string): number | undefined;
  knows(post: BatchedPost): boolean;
  remember(post: BatchedPost, version: number): void;
  forget(post: BatchedPost): void;
}

export function createMembersVersions(): MembersVersions {
  const versions = new Map<string, number>();
  const keyOf = (channelId: string, memberId: string) => `${channelId}\n${memberId}`;
  return {
    of: (channelId, memberId) => versions.get(keyOf(channelId, memberId)),
    knows: (post) => post.memberId !== undefined && versions.has(keyOf(post.message.channel_id, post.memberId)),
    remember(post, version) {
      if (post.memberId === undefined) return;
      const key = keyOf(post.message.channel_id, post.memberId);
      if (!versions.has(key) && versions.size >= MAX_ENTRIES) versions.delete(versions.keys().next().value!);
      versions.set(key, version);
    },
    forget(post) {
      if (post.memberId !== undefined) versions.delete(keyOf(post.message.channel_id, post.memberId));
    },
  };
}
