import { CompiledQuery, sql, type SelectQueryBuilder } from 'kysely';
import { isoTime } from '../ids.js';
import { withFields } from '../objects.js';
import type { MessageAttachmentTable, MessageTable } from './schema.js';
import type { DatabaseHandle, Db, DialectName } from './index.js';

/**
 * The one place that knows how MySQL and SQLite differ: transactions, seq allocation,
 * duplicate-key detection. Nothing else in the code branches on the dialect.
 */

/**
 * Runs `fn` in a transaction. SQLite uses BEGIN IMMEDIATE so that a transaction that reads
 * before it writes takes the write lock up front (no SQLITE_BUSY upgrade deadlock between
 * processes sharing the file); MySQL uses a normal InnoDB transaction.
 */
export async function withTransaction<T>(db: Db, dialect: DialectName, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (dialect === 'mysql') return db.transaction().execute(fn);
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const result = await fn(conn);
      await sql`commit`.execute(conn);
      return result;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}

/**
 * The condition under which posts may take seqs in `channels`: each channel is open and each
 * of its `memberIds` is a member of it and of its guild (for several, their member rows
 * joined to guild member rows are counted; both keys are unique); with `unguardedOnly`, the
 * channel has no agent loop limit (lib/channels/loop-guard.ts counts those posts under the
 * lock, not in a one-trip post). A condition of the seq bump, so it is evaluated under the
 * channels' row locks and a post and a removal or a close never cross.
 *
 * For several channels (one bump for a MySQL post batch, mysql-post-statements.ts) the
 * member check is a CASE on the row's id: each channel checks its own authors only, never an
 * author of another channel of the list.
 *
 * `membersVersion`: the channel's authors were all stored while its `members_version` was
 * this (MySQL post batches remember it); no member of it has been removed since exactly when
 * the version is unchanged, so the row's version stands for the member rows' check.
 */
export function postableChannels(channels: readonly PostableChannel[], unguardedOnly = false): SqlStatement {
  const parameters: unknown[] = channels.map((c) => c.id);
  let sql: string;
  if (channels.length === 1) {
    sql = 'id = ? and closed = 0';
    const check = authorCheck(channels[0]);
    if (check) {
      sql += ` and ${check.sql}`;
      parameters.push(...check.parameters);
    }
  } else {
    sql = `id in (${channels.map(() => '?').join(', ')}) and closed = 0`;
    const checks = channels.map(authorCheck);
    if (checks.some((c) => c !== null)) {
      sql += ` and case id ${checks.map((c) => `when ? then ${c ? c.sql : 'true'}`).join(' ')} end`;
      channels.forEach((c, i) => parameters.push(c.id, ...(checks[i]?.parameters ?? [])));
    }
  }
  if (unguardedOnly) sql += ' and agent_loop_limit is null';
  return { sql, parameters };
}

/** A channel of `postableChannels`: its id, the authors to check and, when known, the members version they were stored at. */
export interface PostableChannel {
  id: string;
  memberIds: readonly string[];
  membersVersion?: number;
}

/** The check of a channel's authors (null when there is none to check). */
function authorCheck(c: PostableChannel): SqlStatement | null {
  if (c.memberIds.length === 0) return null;
  if (c.membersVersion !== undefined) return { sql: 'members_version = ?', parameters: [c.membersVersion] };
  return { sql: memberCheck(c.memberIds), parameters: c.memberIds };
}

/** That each of `memberIds` (its parameters, in order; at least one) is a member of the `channels` row's channel and of its guild. */
function memberCheck(memberIds: readonly string[]): string {
  const members = 'from channel_members m join guild_members g on g.guild_id = channels.guild_id and g.user_id = m.user_id where m.channel_id = channels.id and m.user_id';
  if (memberIds.length === 1) return `exists (select 1 ${members} = ?)`;
  return `(select count(*) ${members} in (${memberIds.map(() => '?').join(', ')})) = ${memberIds.length}`;
}

/** The seq-bump statement of a dialect: MySQL hands the new value back through LAST_INSERT_ID(expr). */
function seqBump(dialect: DialectName, channelId: string, memberId?: string, unguardedOnly = false): CompiledQuery {
  const where = postableChannels([{ id: channelId, memberIds: memberId === undefined ? [] : [memberId] }], unguardedOnly);
  return dialect === 'mysql'
    ? CompiledQuery.raw(`update channels set last_seq = last_insert_id(last_seq + 1) where ${where.sql}`, [...where.parameters])
    : CompiledQuery.raw(`update channels set last_seq = last_seq + 1 where ${where.sql} returning last_seq`, [...where.parameters]);
}

/** A stream of the event log: a channel's, or a user's (realtime.md "Streams, positions and resume"). */
export type StreamRef = { channel: string } | { user: string };

/**
 * Takes the next `count` positions of a stream inside the caller's transaction and returns
 * the last of them; null when the channel does not exist. A channel's position is on its row
 * (so this takes its row lock, which orders positions by commit); a user's on its
 * `user_streams` row, created on first use.
 */
export async function takeStreamPositions(trx: Db, dialect: DialectName, stream: StreamRef, count: number): Promise<number | null> {
  if ('channel' in stream) {
    if (dialect === 'mysql') {
      const r = await trx.executeQuery(CompiledQuery.raw('update channels set last_pos = last_insert_id(last_pos + ?) where id = ?', [count, stream.channel]));
      return r.numAffectedRows && r.numAffectedRows > 0n && r.insertId !== undefined ? Number(r.insertId) : null;
    }
    const r = await trx.executeQuery<{ last_pos: number }>(
      CompiledQuery.raw('update channels set last_pos = last_pos + ? where id = ? returning last_pos', [count, stream.channel]),
    );
    return r.rows[0] ? Number(r.rows[0].last_pos) : null;
  }
  if (dialect === 'mysql') {
    const r = await trx.executeQuery(
      CompiledQuery.raw('insert into user_streams (user_id, last_pos) values (?, last_insert_id(?)) on duplicate key update last_pos = last_insert_id(last_pos + ?)', [
        stream.user,
        count,
        count,
      ]),
    );
    return Number(r.insertId);
  }
  const r = await trx.executeQuery<{ last_pos: number }>(
    CompiledQuery.raw('insert into user_streams (user_id, last_pos) values (?, ?) on conflict (user_id) do update set last_pos = last_pos + excluded.last_pos returning last_pos', [
      stream.user,
      count,
    ]),
  );
  return Number(r.rows[0].last_pos);
}

/**
 * The delivery object of a wake set as one SQL aggregate over `column`: the JSON text
 * `{"wake": [ids], "wakeReasons": {id: reason}}`, every id with the same `reason` (a string
 * literal of the code's own), also over no rows.
 */
export function wakeDeliveryAgg(dialect: DialectName, column: string, reason: string): string {
  return dialect === 'mysql'
    ? `json_object('wake', coalesce(json_arrayagg(${column}), json_array()), 'wakeReasons', coalesce(json_objectagg(${column}, '${reason}'), json_object()))`
    : `json_object('wake', json_group_array(${column}), 'wakeReasons', json_group_object(${column}, '${reason}'))`;
}

/**
 * Takes the channel's row lock and bumps its `last_seq` in one statement; returns the new seq,
 * or null when the channel does not exist or is closed (or, with `memberId`, that user is not
 * a member). Must run inside `withTransaction`: the lock is held until commit, which is what
 * orders seqs by commit order.
 */
export async function allocateSeq(trx: Db, dialect: DialectName, channelId: string, memberId?: string, unguardedOnly = false): Promise<number | null> {
  const r = await trx.executeQuery<{ last_seq: number }>(seqBump(dialect, channelId, memberId, unguardedOnly));
  if (dialect === 'mysql') return r.numAffectedRows && r.numAffectedRows > 0n && r.insertId !== undefined ? Number(r.insertId) : null;
  return r.rows[0] ? Number(r.rows[0].last_seq) : null;
}

/** Takes the channel's row lock without changing it (SQLite: the IMMEDIATE transaction already holds the write lock). */
export async function lockChannel(trx: Db, dialect: DialectName, channelId: string): Promise<boolean> {
  if (dialect === 'mysql') {
    const r = await sql<{ id: string }>`select id from channels where id = ${channelId} for update`.execute(trx);
    return r.rows.length > 0;
  }
  const r = await sql<{ id: string }>`select id from channels where id = ${channelId}`.execute(trx);
  return r.rows.length > 0;
}

/**
 * Makes a select a locking read (use with `$call`): on MySQL `for update` or `lock in share
 * mode` (MariaDB has no `for share`), which reads the latest committed rows instead of the
 * transaction's snapshot and locks them until commit. SQLite: unchanged, the IMMEDIATE
 * transaction already excludes every other writer.
 */
export function lockingRead(dialect: DialectName, mode: 'update' | 'share') {
  return <Q extends SelectQueryBuilder<any, any, any>>(qb: Q): Q => {
    if (dialect !== 'mysql') return qb;
    return (mode === 'update' ? qb.forUpdate() : qb.modifyEnd(sql`lock in share mode`)) as Q;
  };
}

/**
 * Takes the channel's row lock; true when the channel is open and `memberId` is a member of
 * it and of its guild: `allocateSeq`'s condition, for an author's write that takes no seq
 * (intercepted commands). Locking reads, so what they see is current whatever the transaction
 * read before, taken in the order of a post's: channel, channel member, guild member.
 */
export async function lockOpenChannelForMember(trx: Db, dialect: DialectName, channelId: string, memberId: string): Promise<boolean> {
  const channel = await trx.selectFrom('channels').select(['guild_id', 'closed']).where('id', '=', channelId).$call(lockingRead(dialect, 'update')).executeTakeFirst();
  if (!channel || Number(channel.closed)) return false;
  const member = await trx
    .selectFrom('channel_members')
    .select('user_id')
    .where('channel_id', '=', channelId)
    .where('user_id', '=', memberId)
    .$call(lockingRead(dialect, 'share'))
    .executeTakeFirst();
  if (!member) return false;
  const guildMember = await trx
    .selectFrom('guild_members')
    .select('user_id')
    .where('guild_id', '=', channel.guild_id)
    .where('user_id', '=', memberId)
    .$call(lockingRead(dialect, 'share'))
    .executeTakeFirst();
  return guildMember !== undefined;
}

/** True when `err` is a unique-key violation (ER_DUP_ENTRY / SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY). */
export function isDuplicateKeyError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** INSERT … that silently skips rows whose key already exists; returns how many rows were inserted. */
export async function insertIgnore<T extends 'channel_members' | 'guild_members' | 'channel_wake_users'>(
  trx: Db,
  dialect: DialectName,
  table: T,
  rows: Parameters<ReturnType<Db['insertInto']>['values']>[0][],
): Promise<number> {
  if (rows.length === 0) return 0;
  const q = trx.insertInto(table).values(rows as never);
  const r = dialect === 'mysql' ? await q.ignore().executeTakeFirst() : await q.onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return Number(r.numInsertedOrUpdatedRows ?? 0n);
}

/** True when MySQL aborted the transaction to break a deadlock (SQLite's IMMEDIATE transactions queue instead). */
export function isDeadlockError(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ER_LOCK_DEADLOCK';
}

/**
 * `withTransaction`, run again when MySQL picks it as a deadlock victim (up to `attempts`
 * times, with a short random pause). For transactions whose gap locks can cross, such as
 * "delete a key range, insert it again". `fn` must do nothing outside the transaction.
 */
export async function withDeadlockRetry<T>(db: Db, dialect: DialectName, fn: (trx: Db) => Promise<T>, attempts = 8): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTransaction(db, dialect, fn);
    } catch (err) {
      if (!isDeadlockError(err) || attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}

/** A message row without what `insertMessageWithNextSeq` assigns under the channel lock. */
export type UnsequencedMessage = Omit<MessageTable, 'seq' | 'created_at'>;

/** A statement and its parameters, as plain data (a kysely `CompiledQuery` is one too). */
export interface SqlStatement {
  sql: string;
  parameters: readonly unknown[];
}

export interface InsertMessageOptions {
  /** A read to run right after the commit; on MySQL it rides in the same round trip. Its rows come back as `alsoReadRows`. */
  alsoRead?: SqlStatement;
  /** Store only while this user is a member of the channel and of its guild (checked under the lock). */
  memberId?: string;
  /** Log the post's `message.created` in the same transaction (lib/realtime/event-log.ts). */
  event?: PostEventLog;
  /** Store only while the channel has no agent loop limit (checked under the lock). */
  unguardedOnly?: boolean;
}

/** The `message.created` a post logs: built before the seq is known, completed under the channel lock. */
export interface PostEventLog {
  /** The payload; its `seq` and `createdAt` are set from the stored row. */
  data: Record<string, unknown>;
  /** A scalar subquery: the JSON delivery object (`{wake, wakeReasons}`) of the users it wakes, read under the lock. */
  wake: WakeDeliverySql;
}

/**
 * The SQL text of a post's wake subquery, correlated with the stored post: `channel` and
 * `author` are SQL expressions for its channel id and author id (columns of the outer query).
 */
export type WakeDeliverySql = (channel: string, author: string) => string;

/** The logged event of a post: its position in the channel stream and its delivery information (JSON text). */
export interface LoggedPostEvent {
  pos: number;
  delivery: string | null;
}

/**
 * The post transaction of a channel without a turn engine: takes the channel's next seq,
 * stores the message (with `created_at` taken under the lock, so it never decreases along
 * seq) and its attachment rows; returns the seq and created_at, or null when nothing was
 * written (the channel is closed or missing, or `memberId` is not a member). A unique-key
 * error (repeated clientMsgId) is thrown after the rollback.
 *
 * MySQL: the post's statements join a group commit (mysql-post-batches.ts): posts that are
 * ready together share one transaction and one multi-statement round trip, so channel locks
 * are held inside the server only, never across trips through the event loop, and the
 * node's costliest calls (the socket write and read of a round trip) and the database's
 * commits are shared. A post refused under the lock (seq NULL) or a repeated clientMsgId
 * sends every post of its batch through again alone, where each gets its own answer.
 * SQLite: BEGIN IMMEDIATE, allocateSeq, the inserts, COMMIT (no network round trips).
 */
export function insertMessageWithNextSeq(
  database: DatabaseHandle,
  message: UnsequencedMessage,
  attachments: readonly Omit<MessageAttachmentTable, 'message_id'>[],
  options: InsertMessageOptions = {},
): Promise<StoredPost | null> {
  const { db, postBatches } = database;
  const { alsoRead, memberId, event, unguardedOnly } = options;
  const attachmentRows = attachments.map((a) => withFields(a, { message_id: message.id }));
  if (!postBatches) return insertInOneTransaction(database, message, attachmentRows, options);
  // Not async: the batch's own promise goes back as it is (no extra hops on the hot path).
  return postBatches.submit({
    message,
    attachments: attachmentRows.length > 0 ? db.insertInto('message_attachments').values(attachmentRows).compile() : undefined,
    memberId,
    unguardedOnly,
    event: event && { data: JSON.stringify(event.data), wake: event.wake },
    alsoRead,
  });
}

type StoredPost = { seq: number; createdAt: number; alsoReadRows: unknown[]; event?: LoggedPostEvent };

/** SQLite: one IMMEDIATE transaction in-process. */
async function insertInOneTransaction(
  database: DatabaseHandle,
  message: UnsequencedMessage,
  attachmentRows: readonly MessageAttachmentTable[],
  { alsoRead, memberId, event, unguardedOnly }: InsertMessageOptions,
): Promise<StoredPost | null> {
  const { db, dialect } = database;
  const stored = await withTransaction(db, dialect, async (trx) => {
    const seq = await allocateSeq(trx, dialect, message.channel_id, memberId, unguardedOnly);
    if (seq === null) return null;
    const createdAt = await messageTime(trx, dialect);
    await trx
      .insertInto('messages')
      .values(withFields(message, { seq, created_at: createdAt }))
      .execute();
    if (attachmentRows.length > 0) await trx.insertInto('message_attachments').values(attachmentRows).execute();
    if (!event) return { seq, createdAt };
    const pos = (await takeStreamPositions(trx, dialect, { channel: message.channel_id }, 1))!;
    const wake = await trx.executeQuery<{ wake: string }>(
      CompiledQuery.raw(`select (${event.wake('pm.channel_id', 'pm.author_id')}) as wake from messages pm where pm.id = ?`, [message.id]),
    );
    const delivery = wake.rows[0].wake;
    const data = JSON.stringify(withFields(event.data, { seq, createdAt: isoTime(createdAt) }));
    await trx
      .insertInto('channel_events')
      .values({ channel_id: message.channel_id, pos, event: 'message.created', data, delivery, ref: message.id, created_at: createdAt })
      .execute();
    return { seq, createdAt, event: { pos, delivery } };
  });
  if (stored === null) return null;
  return withFields(stored, { alsoReadRows: alsoRead ? [...(await db.executeQuery(CompiledQuery.raw(alsoRead.sql, [...alsoRead.parameters]))).rows] : [] });
}

/** The database clock in epoch microseconds, as SQL (MySQL: every API process on one clock). */
const MYSQL_NOW_US = 'cast(unix_timestamp(now(6)) * 1000000 as signed)';
/** The database clock in epoch milliseconds, as SQL: what stamps a message's created_at on MySQL. */
export const MYSQL_NOW_MS = 'cast(unix_timestamp(now(3)) * 1000 as unsigned)';

/**
 * The clock of a message's times (createdAt, editedAt, deletedAt, and the edit window measured
 * from createdAt): the database's on MySQL, as the post batches stamp theirs in SQL (so a
 * channel's createdAt never decreases along seq when its posts move between paths, and an
 * edit's window and editedAt are on createdAt's clock, whatever the API hosts' clocks say);
 * this process's on SQLite (in-process: the one clock there is). Taken under the channel lock
 * when it stamps a post.
 */
export async function messageTime(db: Db, dialect: DialectName): Promise<number> {
  if (dialect !== 'mysql') return Date.now();
  const r = await db.executeQuery<{ ms: number | string }>(CompiledQuery.raw(`select ${MYSQL_NOW_MS} as ms`, []));
  return Number(r.rows[0].ms);
}

/** The tables of the flood limits' token buckets (lib/messages/flood-limits.ts). */
export type RateBucketTableName = 'post_rate_buckets' | 'edit_rate_buckets';

/**
 * Takes one token (a post, an edit) from a token bucket of `table` kept as its theoretical
 * arrival time (`tat_us`, see lib/messages/flood-limits.ts), in one statement that is atomic
 * on both databases; a missing bucket is a full one. Returns 0 when taken, else how many
 * microseconds until one token fits (the bucket is left unchanged).
 *
 * MySQL: an upsert whose update hands back the wait through LAST_INSERT_ID(expr) when it
 * refuses (the row stays as it was); a fresh insert or a taken post leave the insert id 0.
 * SQLite: an upsert whose update applies only when the post fits; a refusal returns no row,
 * and the wait is read from the bucket then (the refused path only).
 */
export async function takeBucketToken(
  database: Pick<DatabaseHandle, 'db' | 'dialect'>,
  table: RateBucketTableName,
  key: { channelId: string; userId: string },
  intervalUs: number,
  capacityUs: number,
): Promise<number> {
  const { db, dialect } = database;
  if (dialect === 'mysql') {
    const n = MYSQL_NOW_US;
    const next = `greatest(tat_us, ${n}) + ?`;
    const statement = CompiledQuery.raw(
      `insert into ${table} (channel_id, user_id, tat_us) values (?, ?, ${n} + ?) on duplicate key update tat_us = ` +
        `if(${next} - ${n} <= ?, ${next}, tat_us + 0 * last_insert_id(${next} - ${n} - ?))`,
      [key.channelId, key.userId, intervalUs, intervalUs, capacityUs, intervalUs, intervalUs, capacityUs],
    );
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await db.executeQuery(statement);
        return Number(r.insertId ?? 0n);
      } catch (err) {
        // Two first posts of one key at once can meet as a deadlock on the new key; the victim asks again.
        if (!isDeadlockError(err) || attempt >= 5) throw err;
      }
    }
  }
  const now = Date.now() * 1000;
  const r = await db.executeQuery<{ tat_us: number }>(
    CompiledQuery.raw(
      `insert into ${table} (channel_id, user_id, tat_us) values (?, ?, ?) on conflict (channel_id, user_id) do update ` +
        'set tat_us = max(tat_us, ?) + ? where max(tat_us, ?) + ? - ? <= ? returning tat_us',
      [key.channelId, key.userId, now + intervalUs, now, intervalUs, now, intervalUs, now, capacityUs],
    ),
  );
  if (r.rows.length > 0) return 0;
  const row = await db.selectFrom(table).select('tat_us').where('channel_id', '=', key.channelId).where('user_id', '=', key.userId).executeTakeFirst();
  return Math.max(1, Math.max(Number(row?.tat_us ?? now), now) + intervalUs - now - capacityUs);
}

/** Gives back a token taken with `takeBucketToken` (a post or an edit that stored nothing). */
export async function returnBucketToken(
  database: Pick<DatabaseHandle, 'db'>,
  table: RateBucketTableName,
  key: { channelId: string; userId: string },
  intervalUs: number,
): Promise<void> {
  await database.db
    .updateTable(table)
    .set((eb) => ({ tat_us: eb('tat_us', '-', intervalUs) }))
    .where('channel_id', '=', key.channelId)
    .where('user_id', '=', key.userId)
    .execute();
}
