/**
 * The retention sweep (api.md "Files"): removes the rows and bytes of files older than
 * FILE_TTL_DAYS. Run by the cron of every API process and by `npm run sweep`; a lease row
 * makes sure only one runs at a time across all of them.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { createLogger } from '../logger.js';
import { sweepBytes, sweepFiles, sweepRuns } from '../metrics.js';
import { removeBytes, retentionCutoff, storagePath } from './files.js';
import { acquireLease, leaseHolder, releaseLease, renewLease } from './lease.js';
import { isStorageName } from './multipart.js';

const log = createLogger('sweep');

export const SWEEP_LEASE = 'file-sweep';
/** Long enough for a batch; renewed after each one, so a crashed sweeper blocks others for at most this long. */
const LEASE_MS = 10 * 60 * 1000;
const BATCH = 200;

export interface SweepProgress {
  phase: 'expired' | 'orphans';
  /** Expired files handled so far, or orphans removed so far. */
  done: number;
  /** Expired files to handle (known up front); orphans are found as the directory is read. */
  total: number | null;
  bytes: number;
}

export interface SweepResult {
  /** True when another sweep held the lease: nothing was done. */
  skipped: boolean;
  /** Holder of the lease when skipped (host:pid:random). */
  heldBy?: string;
  /** Expired files removed (rows). */
  files: number;
  /** Bytes freed on disk (expired files and orphans). */
  bytes: number;
  /** Expired files whose bytes were already gone from disk (their rows are removed all the same). */
  missingOnDisk: number;
  /** Stored files without a row (left by a crash between writing and recording), older than the TTL. */
  orphans: number;
}

export interface SweepOptions {
  onProgress?: (p: SweepProgress) => void | Promise<void>;
  /** Stops between batches (server shutdown). */
  signal?: AbortSignal;
  now?: number;
}

type SweepContext = Pick<AppContext, 'config' | 'database'>;

const newHolder = () => `${os.hostname().slice(0, 32)}:${process.pid}:${randomBytes(4).toString('hex')}`;

/**
 * Runs one sweep unless another holds the lease. Removes the rows of files created before
 * now − FILE_TTL_DAYS and then their bytes (a file already missing is fine), then stored
 * files that no row knows of and that are as old. Never touches anything younger.
 */
export async function runSweep(ctx: SweepContext, opts: SweepOptions = {}): Promise<SweepResult> {
  try {
    const result = await sweepOnce(ctx, opts);
    sweepRuns.inc({ outcome: result.skipped ? 'skipped' : 'ok' });
    sweepFiles.inc(result.files);
    sweepBytes.inc(result.bytes);
    return result;
  } catch (err) {
    sweepRuns.inc({ outcome: 'error' });
    throw err;
  }
}

async function sweepOnce(ctx: SweepContext, opts: SweepOptions): Promise<SweepResult> {
  const { db } = ctx.database;
  const now = opts.now ?? Date.now();
  const holder = newHolder();
  if (!(await acquireLease(db, SWEEP_LEASE, holder, LEASE_MS, now))) {
    return { skipped: true, heldBy: await leaseHolder(db, SWEEP_LEASE, now), files: 0, bytes: 0, missingOnDisk: 0, orphans: 0 };
  }
  const result: SweepResult = { skipped: false, files: 0, bytes: 0, missingOnDisk: 0, orphans: 0 };
  const keepLease = async () => {
    if (opts.signal?.aborted) return false;
    if (await renewLease(db, SWEEP_LEASE, holder, LEASE_MS, Date.now())) return true;
    log.warn('sweep lease lost; stopping', { holder });
    return false;
  };
  try {
    const cutoff = retentionCutoff(ctx.config.fileTtlDays, now);
    if (await sweepExpired(ctx, cutoff, result, keepLease, opts.onProgress)) {
      await sweepOrphans(ctx, cutoff, result, keepLease, opts.onProgress);
    }
  } finally {
    await releaseLease(db, SWEEP_LEASE, holder).catch((err) => log.warn('could not release the sweep lease', { error: String(err) }));
  }
  log.info('sweep done', { files: result.files, bytes: result.bytes, missingOnDisk: result.missingOnDisk, orphans: result.orphans });
  return result;
}

/** Expired files, oldest first, a batch at a time. False when stopped early. */
async function sweepExpired(ctx: SweepContext, cutoff: number, result: SweepResult, keepLease: () => Promise<boolean>, onProgress: SweepOptions['onProgress']): Promise<boolean> {
  const { db } = ctx.database;
  const counted = await db
    .selectFrom('files')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('created_at', '<', cutoff)
    .executeTakeFirst();
  const total = Number(counted?.n ?? 0);
  let done = 0;
  await onProgress?.({ phase: 'expired', done, total, bytes: result.bytes });
  for (;;) {
    const batch = await db.selectFrom('files').select(['id', 'storage_name', 'size']).where('created_at', '<', cutoff).orderBy('created_at').orderBy('id').limit(BATCH).execute();
    if (batch.length === 0) return true;
    // Rows first: from here on nobody can download or attach them; the bytes follow.
    const deleted = await db
      .deleteFrom('files')
      .where(
        'id',
        'in',
        batch.map((f) => f.id),
      )
      .where('created_at', '<', cutoff)
      .executeTakeFirst();
    result.files += Number(deleted.numDeletedRows);
    for (const f of batch) {
      if (await removeBytes(ctx.config.fileDir, f.storage_name)) result.bytes += Number(f.size);
      else result.missingOnDisk += 1;
    }
    done += batch.length;
    await onProgress?.({ phase: 'expired', done: Math.min(done, total), total: Math.max(total, done), bytes: result.bytes });
    if (!(await keepLease())) return false;
  }
}

/** Stored files with no row, older than the cut-off. Only names this node generates are considered. */
async function sweepOrphans(ctx: SweepContext, cutoff: number, result: SweepResult, keepLease: () => Promise<boolean>, onProgress: SweepOptions['onProgress']): Promise<void> {
  let dir: fs.Dir;
  try {
    dir = await fs.promises.opendir(ctx.config.fileDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  let names: string[] = [];
  const flush = async () => {
    const batch = names;
    names = [];
    if (batch.length === 0) return true;
    await removeOrphans(ctx, ctx.database.db, cutoff, batch, result);
    await onProgress?.({ phase: 'orphans', done: result.orphans, total: null, bytes: result.bytes });
    return keepLease();
  };
  try {
    for await (const entry of dir) {
      if (!entry.isFile() || !isStorageName(entry.name)) continue;
      names.push(entry.name);
      if (names.length >= BATCH && !(await flush())) return;
    }
  } finally {
    // `for await` closes the directory when it completes or breaks; this covers a throw from flush.
    await dir.close().catch(() => undefined);
  }
  await flush();
}

async function removeOrphans(ctx: SweepContext, db: Db, cutoff: number, names: string[], result: SweepResult) {
  const known = new Set((await db.selectFrom('files').select('storage_name').where('storage_name', 'in', names).execute()).map((r) => r.storage_name));
  for (const name of names) {
    if (known.has(name)) continue;
    // An upload being written has no row yet either: only files untouched for the whole TTL go.
    const stat = await fs.promises.stat(storagePath(ctx.config.fileDir, name)).catch(() => null);
    if (!stat || stat.mtimeMs >= cutoff) continue;
    if (await removeBytes(ctx.config.fileDir, name)) {
      result.orphans += 1;
      result.bytes += stat.size;
    }
  }
}
