import { MYSQL_NOW_MS, postableChannels, type PostableChannel, type SqlStatement, type UnsequencedMessage, type WakeDeliverySql } from './dialect.js';

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

/** One seq bump: channels (ascending) whose posts of the batch share one set of options. */
interface Bump {
  unguardedOnly: boolean;
  logs: boolean;
  /** Per channel: how many of its posts take seqs here, and their distinct authors when checked (and the members version they were all stored at, if one). */
  channels: (PostableChannel & { count: number })[];
}

/** The members version at which an author was last stored in a channel, if this process knows one (mysql-post-batches.ts). */
export type MembersVersionOf = (channelId: string, memberId: string) => number | undefined;

/**
 * The statements of a batch between its `start transaction` and its read-back, for `posts` in
 * the batch's order (by channel, ascending, arrival order within a channel).
 *
 * Per set of options, not per channel: the posts that ask for the same conditions (author
 * checked or not, loop guard, event or not; in practice every post) take their seqs with one
 * UPDATE over all their channels, each bumped by its count of posts, whose condition checks
 * each channel's own authors under the channel locks (`postableChannels`; authors this
 * process has stored there at the channel's current members version by that version,
 * `membersVersionOf`). It reads the rows
 * by the primary key in ascending order, so the locks are taken in the same order as anywhere
 * else. `@fabric_ok` is 1 only when every channel of every bump matched. Then one insert
 * stores every message of the batch, each seq counted back from its channel's new `last_seq`
 * (read under the lock), and one `INSERT … SELECT` per wake subquery logs their events: the
 * wake set is read in that statement, correlated per row, so it is a locking read under the
 * channel lock, as for a post alone.
 *
 * When a bump matches fewer channels than it names (closed channel, an author not a member)
 * `@fabric_ok` is NULL, the message insert fails on the NOT NULL seq (the session's sql_mode
 * is strict, see mysql.ts) and the batch is tried again in halves, down to the refused post
 * alone.
 */
export function batchStatements(posts: readonly BatchedPost[], membersVersionOf: MembersVersionOf = () => undefined): SqlStatement[] {
  const statements: SqlStatement[] = [];
  seqBumps(posts, membersVersionOf).forEach((b, i) => {
    const where = postableChannels(b.channels, b.unguardedOnly);
    const one = b.channels.length === 1;
    const add = one ? `${b.channels[0].count}` : `case id ${b.channels.map((c) => `when ? then ${c.count}`).join(' ')} end`;
    const addIds = one ? [] : b.channels.map((c) => c.id);
    statements.push({
      sql: `update channels set last_seq = last_seq + ${add}${b.logs ? `, last_pos = last_pos + ${add}` : ''} where ${where.sql}`,
      parameters: [...addIds, ...(b.logs ? addIds : []), ...where.parameters],
    });
    // row_count() counts changed rows, and a matched row always changes (its last_seq grows).
    statements.push({ sql: `set @fabric_ok = if(row_count() = ${b.channels.length}, ${i === 0 ? '1' : '@fabric_ok'}, null)`, parameters: [] });
  });
  statements.push(insertMessages(posts));
  for (const p of posts) if (p.attachments) statements.push(p.attachments);
  statements.push(...insertEvents(posts));
  return statements;
}

/**
 * The bumps of a batch: per channel, in the batch's order, one share per set of options;
 * consecutive shares with the same options go into one bump. In practice a batch has one set
 * and so one bump. A channel whose posts have several sets is bumped once per set (the
 * counts add up; its seqs still follow the batch's order, see `insertMessages`), and the
 * bumps stay in channel order: a bump never names a channel below one of an earlier bump.
 */
function seqBumps(posts: readonly BatchedPost[], membersVersionOf: MembersVersionOf): Bump[] {
  const optionsOf = (p: BatchedPost) => `${p.memberId !== undefined} ${!!p.unguardedOnly} ${!!p.event}`;
  const shares = new Map<string, Map<string, BatchedPost[]>>();
  for (const p of posts) {
    if (!shares.has(p.message.channel_id)) shares.set(p.message.channel_id, new Map());
    const channel = shares.get(p.message.channel_id)!;
    if (!channel.has(optionsOf(p))) channel.set(optionsOf(p), []);
    channel.get(optionsOf(p))!.push(p);
  }
  const bumps: (Bump & { options: string })[] = [];
  for (const [id, channel] of shares) {
    for (const [options, mine] of channel) {
      let bump = bumps[bumps.length - 1];
      if (bump?.options !== options) {
        bump = { options, unguardedOnly: !!mine[0].unguardedOnly, logs: !!mine[0].event, channels: [] };
        bumps.push(bump);
      }
      const memberIds = [...new Set(mine.flatMap((p) => (p.memberId === undefined ? [] : [p.memberId])))];
      // One version for all the channel's authors, or their member rows are read.
      const versions = new Set(memberIds.map((m) => membersVersionOf(id, m)));
      const [membersVersion] = versions;
      bump.channels.push({ id, count: mine.length, memberIds, ...(versions.size === 1 && membersVersion !== undefined ? { membersVersion } : {}) });
    }
  }
  return bumps;
}

const MESSAGE_COLUMNS = 'id, channel_id, guild_id, seq, author_id, content, reply_to_id, mentions, client_msg_id, created_at, edited_at, deleted_at';

/**
 * One insert for the messages of the batch. Each seq is counted back from its channel's
 * `last_seq` after every bump of the batch: `back` is how many posts of that channel (of any
 * options) come after it in the batch, so a channel's seqs follow the batch's order. NULL
 * unless every bump matched. straight_join: the posts' rows drive, each channel found by its
 * primary key (an INSERT … SELECT locks every row it reads); a left join, so that a missing
 * channel gives a NULL seq too. created_at is the database's clock, taken once per statement,
 * after the bumps took the locks, so createdAt never decreases along seq.
 */
function insertMessages(posts: readonly BatchedPost[]): SqlStatement {
  const backs = laterInChannel(posts);
  const first = `select ? as id, ? as channel_id, ? as guild_id, ? as back, ? as author_id, ? as content, ? as reply_to_id, ? as mentions, ? as client_msg_id, ? as edited_at, ? as deleted_at`;
  const rest = `select ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`;
  return {
    sql:
      `insert into messages (${MESSAGE_COLUMNS}) ` +
      'select straight_join d.id, d.channel_id, d.guild_id, if(@fabric_ok, c.last_seq - d.back, null), d.author_id, d.content, d.reply_to_id, d.mentions, d.client_msg_id, ' +
      `${MYSQL_NOW_MS}, d.edited_at, d.deleted_at ` +
      `from (${posts.map((_, i) => (i === 0 ? first : rest)).join(' union all ')}) d left join channels c on c.id = d.channel_id`,
    parameters: posts.flatMap(({ message: m }, i) => [
      m.id,
      m.channel_id,
      m.guild_id,
      backs[i],
      m.author_id,
      m.content,
      m.reply_to_id,
      m.mentions,
      m.client_msg_id,
      m.edited_at,
      m.deleted_at,
    ]),
  };
}

/** For each of `posts`, how many posts of its channel come after it in `posts` (a seq or position counted back from the channel's last). */
function laterInChannel(posts: readonly BatchedPost[]): number[] {
  const left = new Map<string, number>();
  for (const p of posts) left.set(p.message.channel_id, (left.get(p.message.channel_id) ?? 0) + 1);
  return posts.map((p) => {
    const back = left.get(p.message.channel_id)! - 1;
    left.set(p.message.channel_id, back);
    return back;
  });
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
  const backs = laterInChannel(logged);
  const byWake = new Map<string, { post: BatchedPost; back: number }[]>();
  for (const [i, post] of logged.entries()) {
    const back = backs[i];
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
