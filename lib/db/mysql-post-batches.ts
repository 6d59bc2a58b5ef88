import type { Pool, PoolConnection } from 'mysql2';
import { postBatchRetries, postBatchSize, postBatchWait } from '../metrics.js';
import type { LoggedPostEvent, SqlStatement } from './dialect.js';
import { batchStatements, type BatchedPost } from './mysql-post-statements.js';
import { createMembersVersions, type MembersVersions } from './members-versions.js';

export type { BatchedPost };

export interface BatchedResult {
  seq: number;
  createdAt: number;
  alsoReadRows: unknown[];
  event?: LoggedPostEvent;
}

export interface MysqlPostBatches {
  /** Stores the post; null when its seq bump matched nothing (closed channel, or not a member). */
  submit(post: BatchedPost): Promise<BatchedResult | null>;
  /** Counters since start: batches sent (of one post or more) and posts stored through them. */
  stats(): { batches: number; posts: number };
  /** Resolves once no post is queued or in a batch in flight (shutdown, before the pool closes). */
  settled(): Promise<void>;
}

interface Pending {
  post: BatchedPost;
  /** Date.now() when queued (the wait metric). */
  queuedAt: number;
  /** An attempt of this post lost its connection: it may have committed (see `runAlone`). */
  mayBeStored?: boolean;
  resolve(result: BatchedResult | null): void;
  reject(err: unknown): void;
}

/**
 * Bound one batch: its posts (the time its channel locks are held) and the characters of its
 * parameters (one query must stay well under the server's max_allowed_packet, 4 MiB by default
 * on older MySQL; a post's content alone may be 16000 characters).
 */
const MAX_POSTS_PER_BATCH = 64;
const MAX_BATCH_CHARS = 512 * 1024;
/** How often a single post is tried in all: chosen as a deadlock victim, or its connection lost. */
const POST_ATTEMPTS = 5;
/** A batch in flight this long no longer holds back the next one (see `pump`). */
const STALLED_MS = 100;

/**
 * How many post batches one process keeps in flight (stalled ones aside): one. Posts that
 * arrive meanwhile make the next batch larger, and a batch's heavy statements are per channel
 * and per batch, so one batch at a time did more posts per second than two, three or four at
 * every load measured, with a lower latency (docs/performance.md, series 19); two batches
 * mostly wait for each other's channel locks anyway.
 */
export const POST_BATCHES_IN_FLIGHT = 1;

/**
 * Group commit for the MySQL post path. A post that arrives while a batch slot is free goes
 * out at once, alone, so a quiet node adds no latency; posts that arrive while every slot is
 * busy wait and then go together, as one transaction in one multi-statement round trip,
 * instead of one round trip and one commit each.
 *
 * Why: under load the node's single thread is the bottleneck of the HTTP path, and its
 * costliest calls per post were the socket write and read of the post's round trip; the
 * database, for its part, pays per round trip and per commit (docs/performance.md).
 *
 * Seqs stay gapless and in commit order: the seq bumps run under their channels' row locks
 * inside the shared transaction, one statement for every channel of the batch (per set of
 * options), and each channel's posts of the batch take their seqs in arrival order
 * (mysql-post-statements.ts). A batch of
 * several in which anything fails — a post refused under the lock, a repeated clientMsgId, a
 * deadlock — is rolled back whole and tried again in halves, down to single posts, each of
 * which gets its own answer: a refused post costs its batch-mates a few round trips, never a
 * refusal. At most `maxInFlight` batches that are not stalled, and `maxConnections` in all,
 * are in flight at once.
 */
export function createMysqlPostBatches(pool: Pool, maxInFlight: number, maxConnections: number): MysqlPostBatches {
  const versions = createMembersVersions();
  const queue: Pending[] = [];
  /** The batches in flight: when each started, and its channels. */
  const inFlight = new Set<{ since: number; channels: Set<string> }>();
  let wakeUp: NodeJS.Timeout | undefined;
  let batches = 0;
  let posts = 0;
  const settledWaiters: (() => void)[] = [];

  /**
   * Starts batches while slots are free. A batch in flight for longer than STALLED_MS (one
   * waiting for a channel lock, say) stops counting against the limit, and posts to its
   * channels stay queued until it ends, so posts to other channels do not wait behind it; the
   * pool's size stays the bound.
   */
  function pump() {
    for (;;) {
      const now = Date.now();
      let fresh = 0;
      let oldestFresh = Infinity;
      const stalledChannels = new Set<string>();
      for (const b of inFlight) {
        if (now - b.since < STALLED_MS) {
          fresh++;
          oldestFresh = Math.min(oldestFresh, b.since);
        } else {
          for (const c of b.channels) stalledChannels.add(c);
        }
      }
      if (queue.length === 0) return;
      if (fresh >= maxInFlight || inFlight.size >= maxConnections) {
        if (!wakeUp && oldestFresh !== Infinity) {
          wakeUp = setTimeout(
            () => {
              wakeUp = undefined;
              pump();
            },
            oldestFresh + STALLED_MS - now,
          );
          wakeUp.unref();
        }
        return;
      }
      const batch = takeBatch(queue, stalledChannels);
      if (batch.length === 0) return; // only posts to channels of stalled batches: they wait for those
      postBatchSize.observe(batch.length);
      for (const p of batch) postBatchWait.observe((now - p.queuedAt) / 1000);
      const slot = { since: now, channels: new Set(batch.map((p) => p.post.message.channel_id)) };
      inFlight.add(slot);
      void runGroup(batch).finally(() => {
        inFlight.delete(slot);
        pump();
        if (queue.length === 0 && inFlight.size === 0) for (const w of settledWaiters.splice(0)) w();
      });
    }
  }

  /**
   * Stores `group` in one transaction. When anything in it fails, the halves are tried in
   * turn, down to single posts, which get their own answers: one refused post costs its
   * batch-mates about two round trips per halving, on this slot's connection only.
   */
  async function runGroup(group: Pending[]): Promise<void> {
    if (group.length === 1) return runAlone(group[0]);
    let stored: Map<string, BatchedResult>;
    try {
      stored = await storeTogether(
        pool,
        group.map((p) => p.post),
        versions,
      );
    } catch (err) {
      postBatchRetries.inc();
      // Whatever failed, the halves check their authors' member rows again (a removal since
      // an author's last post fails every post of its channel checked by version).
      for (const p of group) {
        versions.forget(p.post);
        if (isOutcomeUnknown(err)) p.mayBeStored = true;
      }
      // Its session may still be running: nothing of the group is tried beside it (see endSession).
      if (sessionLeftRunning.has(err as object)) return void group.forEach((p) => p.reject(err));
      // A channel of the group stayed locked for the server's whole lock wait (by another
      // transaction): halving would wait that long again at every level. Each channel's posts
      // go on their own instead, side by side; those of a channel still locked get the error
      // (503, retry later) after one more wait, the others their answers at once.
      if ((err as { code?: unknown }).code === 'ER_LOCK_WAIT_TIMEOUT') {
        const byChannel = new Map<string, Pending[]>();
        for (const p of group) {
          const channelId = p.post.message.channel_id;
          if (!byChannel.has(channelId)) byChannel.set(channelId, []);
          byChannel.get(channelId)!.push(p);
        }
        if (byChannel.size === 1) for (const p of group) p.reject(err);
        else await Promise.all([...byChannel.values()].map((posts) => runGroup(posts)));
        return;
      }
      const half = Math.ceil(group.length / 2);
      await runGroup(group.slice(0, half));
      await runGroup(group.slice(half));
      return;
    }
    batches++;
    posts += group.length;
    for (const p of group) p.resolve(stored.get(p.post.message.id)!);
  }

  async function runAlone(p: Pending, attempt = 1): Promise<void> {
    const byVersion = versions.knows(p.post);
    try {
      const stored = await storeTogether(pool, [p.post], versions);
      batches++;
      posts++;
      p.resolve(stored.get(p.post.message.id)!);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // Chosen as a deadlock victim (say against a membership change that locks in the other
      // order): everything was rolled back, so the post is simply tried again.
      if (code === 'ER_LOCK_DEADLOCK' && attempt < POST_ATTEMPTS) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
        return runAlone(p, attempt + 1);
      }
      // The seq bump matched nothing, so the insert's seq was NULL and the transaction stopped.
      // Checked by version, a member of the channel was removed since: once more against the
      // member rows, which answer for this author.
      if (code === 'ER_BAD_NULL_ERROR' && byVersion) {
        versions.forget(p.post);
        return runAlone(p, attempt);
      }
      const lost = isOutcomeUnknown(err);
      if (lost) p.mayBeStored = true;
      // Its session may still be running and the server does not answer: neither read nor retry (see endSession).
      if (lost && sessionLeftRunning.has(err as object)) return p.reject(err);
      // What is stored answers when an attempt of this very post may have committed: its own
      // id is taken (a duplicate of another key, a repeated clientMsgId, is the caller's), or
      // an attempt lost its connection (that session has been ended, see runOnOneConnection).
      // A refusal under the lock is the answer only when no earlier attempt stored the post:
      // the author may have been removed after it committed.
      if (code === 'ER_DUP_ENTRY' || (code === 'ER_BAD_NULL_ERROR' && p.mayBeStored) || lost) {
        let earlier: BatchedResult | null;
        try {
          earlier = await readStored(pool, p.post);
        } catch (readError) {
          return p.reject(readError);
        }
        if (earlier) return p.resolve(earlier);
      }
      if (code === 'ER_BAD_NULL_ERROR') return p.resolve(null);
      // Not stored, and no session of it is left running: the same post (the same id) again.
      if (lost && attempt < POST_ATTEMPTS) return runAlone(p, attempt + 1);
      p.reject(err);
    }
  }

  return {
    submit: (post) =>
      new Promise((resolve, reject) => {
        queue.push({ post, queuedAt: Date.now(), resolve, reject });
        pump();
      }),
    stats: () => ({ batches, posts }),
    settled: () => (queue.length === 0 && inFlight.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => settledWaiters.push(resolve))),
  };
}

/**
 * One transaction for `batch` (its channel locks in ascending order, each channel's posts in
 * arrival order) ending with the read-back of seq, created_at and, for a logged post, its
 * event's position and wake set; then the distinct extra reads, all in one round trip.
 * Throws what the first failed statement threw, after the rollback.
 */
async function storeTogether(pool: Pool, batch: readonly BatchedPost[], versions: MembersVersions): Promise<Map<string, BatchedResult>> {
  const channelOf = (p: BatchedPost) => p.message.channel_id;
  const ordered = batch.length === 1 ? batch : [...batch].sort((a, b) => (channelOf(a) < channelOf(b) ? -1 : channelOf(a) > channelOf(b) ? 1 : 0));
  const ids = ordered.map((p) => p.message.id);
  const reads = new Map<string, SqlStatement>();
  for (const p of ordered) if (p.alsoRead) reads.set(readKey(p.alsoRead), p.alsoRead);
  const statements: SqlStatement[] = [
    { sql: 'start transaction', parameters: [] },
    ...batchStatements(ordered, versions.of),
    // Before the commit, under the channel locks.
    postReadBack(ids),
    { sql: 'commit', parameters: [] },
    ...reads.values(),
  ];
  const results = (await runOnOneConnection(pool, statements)) as unknown[];
  const readBackAt = statements.length - reads.size - 2;
  const rows = results[readBackAt] as {
    id: string;
    seq: number | string;
    created_at: number | string;
    pos: number | string | null;
    delivery: string | null;
    members_version: number | string;
  }[];
  const readRows = new Map([...reads.keys()].map((key, i) => [key, results[readBackAt + 2 + i] as unknown[]]));
  const byId = new Map(rows.map((r) => [r.id, r]));
  return new Map(
    ordered.map((p) => {
      const row = byId.get(p.message.id)!;
      versions.remember(p, Number(row.members_version));
      const result: BatchedResult = { seq: Number(row.seq), createdAt: Number(row.created_at), alsoReadRows: p.alsoRead ? [...readRows.get(readKey(p.alsoRead))!] : [] };
      if (p.event && row.pos !== null) result.event = { pos: Number(row.pos), delivery: row.delivery };
      return [p.message.id, result];
    }),
  );
}

/**
 * The read-back of a batch: each post's seq and created_at, its channel's members version (under
 * the lock: what its author is remembered at) and, for a logged post, its event's position and
 * delivery, found by the message id (index channel_events_ref). The index is
 * forced: with the statistics of a log that grows fast the optimizer picked the primary key's
 * channel prefix instead and walked the channel's whole log on every batch, so posting slowed
 * as the log grew (docs/performance.md, series 18). The join order is forced too (messages by
 * id first): left to itself the optimizer started from the few channel rows and read all of
 * their messages (series 22).
 */
export function postReadBack(ids: readonly string[]): SqlStatement {
  return {
    sql:
      'select straight_join m.id, m.seq, m.created_at, e.pos, e.delivery, c.members_version from messages m ' +
      'join channels c on c.id = m.channel_id ' +
      "left join channel_events e force index (channel_events_ref) on e.channel_id = m.channel_id and e.ref = m.id and e.event = 'message.created' " +
      `where m.id in (${ids.map(() => '?').join(', ')})`,
    parameters: ids,
  };
}

/** What an earlier, committed attempt of `post` stored: its seq and created_at, its read, its event; null when its id is not stored. */
async function readStored(pool: Pool, post: BatchedPost): Promise<BatchedResult | null> {
  const statements: SqlStatement[] = [
    { sql: 'select seq, created_at from messages where id = ?', parameters: [post.message.id] },
    ...(post.alsoRead ? [post.alsoRead] : []),
    ...(post.event
      ? [
          {
            sql: "select pos, delivery from channel_events force index (channel_events_ref) where channel_id = ? and event = 'message.created' and ref = ?",
            parameters: [post.message.channel_id, post.message.id],
          },
        ]
      : []),
  ];
  const results = (await runOnOneConnection(pool, statements)) as unknown[];
  const lists = statements.length === 1 ? [results] : results;
  const row = (lists[0] as { seq: number | string; created_at: number | string }[])[0];
  if (!row) return null;
  const result: BatchedResult = { seq: Number(row.seq), createdAt: Number(row.created_at), alsoReadRows: post.alsoRead ? [...(lists[1] as unknown[])] : [] };
  if (post.event) {
    const e = (lists[lists.length - 1] as { pos: number | string; delivery: string | null }[])[0];
    if (e) result.event = { pos: Number(e.pos), delivery: e.delivery };
  }
  return result;
}

/**
 * Takes the next batch off the queue, in queue order: posts to `skipChannels` stay queued, and
 * the batch stops at either bound (at least one post when any is eligible).
 */
function takeBatch(queue: Pending[], skipChannels: ReadonlySet<string>): Pending[] {
  const taken: Pending[] = [];
  let chars = 0;
  for (let i = 0; i < queue.length && taken.length < MAX_POSTS_PER_BATCH;) {
    const p = queue[i];
    if (skipChannels.has(p.post.message.channel_id)) {
      i++;
      continue;
    }
    chars += postChars(p.post);
    if (chars > MAX_BATCH_CHARS && taken.length > 0) break;
    taken.push(p);
    queue.splice(i, 1);
  }
  return taken;
}

/** The characters a post adds to its batch's parameters (its message, attachments and event). */
function postChars({ message, attachments, event }: BatchedPost): number {
  let chars = event ? event.data.length : 0;
  for (const v of [...Object.values(message), ...(attachments?.parameters ?? [])]) if (typeof v === 'string') chars += v.length;
  return chars;
}

const readKey = (s: SqlStatement) => `${s.sql}\u0000${JSON.stringify(s.parameters)}`;

/**
 * A failure after which the query's transaction may still commit: the connection was lost
 * (mysql2 marks such errors fatal) after the whole multi-statement query was sent, and the
 * server goes on running what it received, up to the commit, whatever the client sees.
 */
const isOutcomeUnknown = (err: unknown): boolean => (err as { fatal?: unknown }).fatal === true;

/**
 * Runs statements as one multi-statement query on one pooled connection and returns mysql2's
 * result list (one entry per statement). A failed statement stops the query, possibly inside
 * the transaction it opened: that is rolled back on the same connection before the connection
 * goes back to the pool, so no lock outlives the call. A lost connection cannot roll back:
 * its server session is ended (`kill`) before the call fails, so that it stops where it is
 * (rolled back, unless it had committed) and no retry runs beside it; an error whose `kill`
 * the server did not answer in time is marked (`sessionLeftRunning`).
 */
function runOnOneConnection(pool: Pool, statements: readonly SqlStatement[]): Promise<unknown> {
  const text = statements.map((q) => q.sql).join(';\n');
  const params = statements.flatMap((q) => q.parameters as unknown[]);
  return new Promise((resolve, reject) => {
    pool.getConnection((connectError, conn: PoolConnection) => {
      if (connectError) return reject(connectError);
      conn.query(text, params, (error, results) => {
        if (!error) {
          conn.release();
          return resolve(results);
        }
        if (isOutcomeUnknown(error)) {
          conn.destroy();
          return void endSession(pool, conn.threadId).then((ended) => {
            if (!ended && error !== null && typeof error === 'object') sessionLeftRunning.add(error);
            reject(error);
          });
        }
        conn.query('rollback', (rollbackError) => {
          // A connection that cannot even roll back is not handed out again.
          if (rollbackError) conn.destroy();
          else conn.release();
          reject(error);
        });
      });
    });
  });
}

/** How long ending a lost session may take, its new connection included (mysql2's connect timeout alone is 10 s). */
const KILL_TIMEOUT_MS = 2000;

/** Errors of a lost connection whose server session may still run (the server did not answer the `kill` in time). */
const sessionLeftRunning = new WeakSet<object>();

/**
 * Ends a server session whose connection was lost; false when the server did not answer in
 * time. `kill` returns once the session is marked: it then stops at once (a lock wait
 * included) and rolls back, keeping its locks until that is done, so a retry that needs them
 * waits for the outcome. When the server does not answer within KILL_TIMEOUT_MS (gone silent),
 * the post is neither read back nor tried again (either would wait on that server too, and a
 * retry could run beside the session): it is answered as the database being unavailable (503
 * `db_unavailable`), and a retry with its clientMsgId finds it if it committed.
 */
function endSession(pool: Pool, threadId: number | null): Promise<boolean> {
  if (threadId === null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), KILL_TIMEOUT_MS);
    pool.query({ sql: 'kill ?', timeout: KILL_TIMEOUT_MS }, [threadId], (err) => {
      clearTimeout(timer);
      // Any other answer (a session already gone, a server that refuses the connection at
      // once) lets the read of what was stored decide, which fails as fast when it cannot run.
      resolve((err as { code?: unknown } | null)?.code !== 'PROTOCOL_SEQUENCE_TIMEOUT');
    });
  });
}
