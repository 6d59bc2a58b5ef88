import { sql } from 'kysely';
import type { Db, DialectName } from './index.js';

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
 * Takes the channel's row lock and bumps its `last_seq` in one statement; returns the new seq,
 * or null when the channel does not exist or is closed. Must run inside `withTransaction`:
 * the lock is held until commit, which is what orders seqs by commit order.
 */
export async function allocateSeq(trx: Db, dialect: DialectName, channelId: string): Promise<number | null> {
  if (dialect === 'mysql') {
    // LAST_INSERT_ID(expr) hands the new value back in the OK packet: lock, bump and read in one round trip.
    const r = await sql`update channels set last_seq = last_insert_id(last_seq + 1) where id = ${channelId} and closed = 0`.execute(trx);
    return r.numAffectedRows && r.numAffectedRows > 0n && r.insertId !== undefined ? Number(r.insertId) : null;
  }
  const r = await sql<{ last_seq: number }>`update channels set last_seq = last_seq + 1 where id = ${channelId} and closed = 0 returning last_seq`.execute(trx);
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
