import { postableChannel, type SqlStatement, type UnsequencedMessage, type WakeDeliverySql } from './dialect.js';

/** One post of the MySQL post path, as data: its batch builds the statements (`batchStatements`). */
export interface BatchedPost {
  message: UnsequencedMessage;
  /** The insert of its attachment rows, if any. */
  attachments?: SqlStatement;
  /** Store only while this user is a member of the channel and of its guild (checked under the lock). */
  memberId?: string;
  /** Store only while the channel has no agent loop limit (checked under the lock). */
  unguardedOnly?: boolean;
  /** Log its `message.created` (ref = message id): the payload as JSON text (seq and createdAt set from the stored row) and the wake subquery. */
  event?: { data: string; wake: WakeDeliverySql };
  /** A read to run after the commit (the wake candidates); identical reads of one batch run once. */
  alsoRead?: SqlStatement;
}

/** Posts of one channel, next to each other in the batch, that share one seq bump. */
interface ChannelGroup {
  posts: BatchedPost[];
  memberIds: Set<string>;
}

/**
 * The statements of a batch between its `start transaction` and its read-back, for `posts` in
 * the batch's order (by channel, arrival order within a channel).
 *
 * Per channel, not per post: the posts of a channel that ask for the same conditions take
 * their seqs with one bump (`k` at once), whose condition checks every author at once, under
 * the channel lock; its first seq goes to a session variable. Then one insert stores every
 * message of the batch (seq = the group's variable + i), and one `INSERT … SELECT` per wake
 * subquery logs their events: the wake set is read in that statement, correlated per row, so
 * it is a locking read under the channel lock, as for a post alone.
 *
 * When a bump matches nothing (closed channel, an author not a member) its variable is NULL,
 * the message insert fails on the NOT NULL seq (the session's sql_mode is strict, see
 * mysql.ts) and the batch is tried again in halves, down to the refused post alone.
 */
export function batchStatements(posts: readonly BatchedPost[]): SqlStatement[] {
  const groups = channelGroups(posts);
  const statements: SqlStatement[] = [];
  const seqs = new Map<BatchedPost, string>();
  groups.forEach((g, gi) => {
    const first = g.posts[0];
    const k = g.posts.length;
    const where = postableChannel(first.message.channel_id, [...g.memberIds], !!first.unguardedOnly);
    const pos = first.event ? `, last_pos = last_pos + ${k}` : '';
    statements.push({ sql: `update channels set last_seq = last_insert_id(last_seq + ${k})${pos} where ${where.sql}`, parameters: where.parameters });
    statements.push({ sql: `set @fabric_seq_${gi} = if(row_count() = 1, last_insert_id() - ${k}, null)`, parameters: [] });
    g.posts.forEach((p, i) => seqs.set(p, `@fabric_seq_${gi} + ${i + 1}`));
  });
  statements.push(insertMessages(posts, seqs));
  for (const p of posts) if (p.attachments) statements.push(p.attachments);
  statements.push(...insertEvents(posts));
  return statements;
}

/** Consecutive posts of one channel with the same options (member check or not, loop guard, event or not). */
function channelGroups(posts: readonly BatchedPost[]): ChannelGroup[] {
  const groups: ChannelGroup[] = [];
  let last: BatchedPost | undefined;
  for (const p of posts) {
    const same =
      last &&
      last.message.channel_id === p.message.channel_id &&
      (last.memberId === undefined) === (p.memberId === undefined) &&
      !!last.unguardedOnly === !!p.unguardedOnly &&
      !!last.event === !!p.event;
    if (!same) groups.push({ posts: [], memberIds: new Set() });
    const g = groups[groups.length - 1];
    g.posts.push(p);
    if (p.memberId !== undefined) g.memberIds.add(p.memberId);
    last = p;
  }
  return groups;
}

const MESSAGE_COLUMNS = 'id, channel_id, guild_id, seq, author_id, content, reply_to_id, mentions, client_msg_id, created_at, edited_at, deleted_at';
/** Taken once per statement, after the bumps took the locks, so createdAt never decreases along seq. */
const NOW_MS = 'cast(unix_timestamp(now(3)) * 1000 as unsigned)';

function insertMessages(posts: readonly BatchedPost[], seqs: ReadonlyMap<BatchedPost, string>): SqlStatement {
  const rows = posts.map((p) => `(?, ?, ?, ${seqs.get(p)}, ?, ?, ?, ?, ?, ${NOW_MS}, ?, ?)`);
  return {
    sql: `insert into messages (${MESSAGE_COLUMNS}) values ${rows.join(', ')}`,
    parameters: posts.flatMap(({ message: m }) => [m.id, m.channel_id, m.guild_id, m.author_id, m.content, m.reply_to_id, m.mentions, m.client_msg_id, m.edited_at, m.deleted_at]),
  };
}

/** An epoch-milliseconds column as the ISO text of `isoTime` (UTC, milliseconds), in MySQL. */
const ISO_TIME_MYSQL = (col: string) => `concat(date_format(date_add('1970-01-01', interval ${col} div 1000 second), '%Y-%m-%dT%H:%i:%s.'), lpad(${col} mod 1000, 3, '0'), 'Z')`;

/**
 * The event inserts of the posts that log one, one per distinct wake subquery (channel type).
 * Each event's position is counted back from its channel's `last_pos` after every bump of the
 * batch: `back` is how many logged posts of that channel come after it in the batch.
 */
function insertEvents(posts: readonly BatchedPost[]): SqlStatement[] {
  // straight_join: the posts' rows drive, each message found by its primary key. Left to
  // itself the optimizer may scan `messages` (it does while the table is small), and an
  // INSERT … SELECT locks every row it reads.
  const logged = posts.filter((p) => p.event);
  const left = new Map<string, number>();
  for (const p of logged) left.set(p.message.channel_id, (left.get(p.message.channel_id) ?? 0) + 1);
  const byWake = new Map<string, { post: BatchedPost; back: number }[]>();
  for (const post of logged) {
    const back = left.get(post.message.channel_id)! - 1;
    left.set(post.message.channel_id, back);
    const wake = post.event!.wake('pm.channel_id', 'pm.author_id');
    if (!byWake.has(wake)) byWake.set(wake, []);
    byWake.get(wake)!.push({ post, back });
  }
  return [...byWake].map(([wake, rows]) => ({
    sql:
      'insert into channel_events (channel_id, pos, event, data, delivery, ref, created_at) ' +
      `select straight_join pc.id, pc.last_pos - d.back, 'message.created', json_set(d.data, '$.seq', pm.seq, '$.createdAt', ${ISO_TIME_MYSQL('pm.created_at')}), ` +
      `(${wake}), pm.id, pm.created_at ` +
      `from (${rows.map((_, i) => (i === 0 ? 'select ? as id, ? as data, ? as back' : 'select ?, ?, ?')).join(' union all ')}) d ` +
      'join messages pm on pm.id = d.id join channels pc on pc.id = pm.channel_id',
    parameters: rows.flatMap(({ post, back }) => [post.message.id, post.event!.data, back]),
  }));
}
