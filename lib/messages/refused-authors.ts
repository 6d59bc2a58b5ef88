/**
 * Authors whose plain post to a channel was refused under the channel lock (removed from it,
 * or the channel closed), remembered for a while per process: their next posts there read the
 * channel first and are answered 403/409 without entering the MySQL group commit, where one
 * refused post fails its whole batch and costs its batch-mates the batch's halvings (and, with
 * one batch in flight, every other post of the process waits for them; docs/performance.md).
 * Only the route changes, never an answer: a post that reads the channel first is checked
 * under the lock again. Bounded: past MAX_ENTRIES the oldest is forgotten.
 */
const REMEMBERED_MS = 30_000;
const MAX_ENTRIES = 10_000;
/** `channelId author` → until when (epoch ms). */
const refused = new Map<string, number>();

const keyOf = (channelId: string, authorId: string) => `${channelId} ${authorId}`;

export function rememberRefusal(channelId: string, authorId: string, now = Date.now()): void {
  const key = keyOf(channelId, authorId);
  refused.delete(key);
  if (refused.size >= MAX_ENTRIES) refused.delete(refused.keys().next().value!);
  refused.set(key, now + REMEMBERED_MS);
}

/** Whether `authorId` was refused in `channelId` within the last REMEMBERED_MS. */
export function recentlyRefused(channelId: string, authorId: string, now = Date.now()): boolean {
  if (refused.size === 0) return false;
  const key = keyOf(channelId, authorId);
  const until = refused.get(key);
  if (until === undefined) return false;
  if (until > now) return true;
  refused.delete(key);
  return false;
}

/** The author posted there again (checked under the lock): the usual route from now on. */
export function forgetRefusal(channelId: string, authorId: string): void {
  if (refused.size > 0) refused.delete(keyOf(channelId, authorId));
}
