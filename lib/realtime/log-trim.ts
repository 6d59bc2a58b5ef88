import { randomUUID } from 'node:crypto';
import type { AppContext } from '../context.js';
import { acquireLease, releaseLease } from '../files/lease.js';
import { trimLog } from './event-log.js';

/** One trim at a time across the node's processes. */
export const TRIM_LEASE = 'event-log-trim';
/** Longer than any trim takes; a holder that dies frees it after this. */
const LEASE_MS = 10 * 60_000;

/**
 * Deletes the events neither retention rule keeps (realtime.md), under the trim lease;
 * `skipped` when another process holds it.
 */
export async function runLogTrim(ctx: AppContext, now = Date.now()): Promise<{ skipped: boolean; deleted: number }> {
  const { db } = ctx.database;
  const holder = `trim:${process.pid}:${randomUUID()}`; // at most 64 characters
  if (!(await acquireLease(db, TRIM_LEASE, holder, LEASE_MS, now))) return { skipped: true, deleted: 0 };
  try {
    const deleted = await trimLog(db, { hours: ctx.config.eventRetentionHours, events: ctx.config.eventRetentionEvents }, now);
    return { skipped: false, deleted };
  } finally {
    await releaseLease(db, TRIM_LEASE, holder);
  }
}
