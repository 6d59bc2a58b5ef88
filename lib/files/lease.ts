/**
 * Named leases in the `leases` table: a row that says who holds a job and until when, so
 * that one job runs at a time across every process sharing the database. A holder that
 * dies lets its lease expire; the next one takes it over.
 */
import type { Db } from '../db/index.js';
import { isDuplicateKeyError } from '../db/dialect.js';

/**
 * Takes the lease for `ttlMs`: inserts it, or takes over an expired one. Each step is one
 * atomic statement, so of two processes racing exactly one wins. True when taken.
 */
export async function acquireLease(db: Db, name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
  try {
    await db
      .insertInto('leases')
      .values({ name, holder, expires_at: now + ttlMs })
      .execute();
    return true;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  const r = await db
    .updateTable('leases')
    .set({ holder, expires_at: now + ttlMs })
    .where('name', '=', name)
    .where('expires_at', '<=', now)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Extends a lease we hold; false when it was lost (expired and taken over). */
export async function renewLease(db: Db, name: string, holder: string, ttlMs: number, now: number): Promise<boolean> {
  const r = await db
    .updateTable('leases')
    .set({ expires_at: now + ttlMs })
    .where('name', '=', name)
    .where('holder', '=', holder)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Gives a lease back (only if we still hold it). */
export async function releaseLease(db: Db, name: string, holder: string): Promise<void> {
  await db.deleteFrom('leases').where('name', '=', name).where('holder', '=', holder).execute();
}

/** Who holds a lease now, if anyone. */
export async function leaseHolder(db: Db, name: string, now: number): Promise<string | undefined> {
  const row = await db.selectFrom('leases').select('holder').where('name', '=', name).where('expires_at', '>', now).executeTakeFirst();
  return row?.holder;
}
