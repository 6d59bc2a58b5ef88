import fs from 'node:fs';
import path from 'node:path';
import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import type { FileTable } from '../db/schema.js';
import { isoTime, newId } from '../ids.js';
import { createLogger } from '../logger.js';
import { fileUrl } from './attachments.js';
import { receiveUpload } from './multipart.js';

const log = createLogger('files');
const DAY_MS = 24 * 60 * 60 * 1000;

/** The API shape of a file (api.md "Files"). */
export const toFile = (f: FileTable) => ({
  id: f.id,
  name: f.name,
  size: Number(f.size),
  mime: f.mime,
  sha256: f.sha256,
  uploaderId: f.uploader_id,
  createdAt: isoTime(f.created_at),
  expiresAt: isoTime(f.expires_at),
  url: fileUrl(f.id),
});
export type ApiFile = ReturnType<typeof toFile>;

/** Where a file's bytes live. Only generated storage names ever reach this path. */
export const storagePath = (fileDir: string, storageName: string) => path.join(fileDir, storageName);

/** The cut-off of the retention: files created at or before it are older than the TTL. */
export const retentionCutoff = (ttlDays: number, now: number) => now - ttlDays * DAY_MS;

/**
 * Receives a multipart upload from `request` and records it for `uploaderId`, expiring
 * FILE_TTL_DAYS from now. The bytes are removed again if the row cannot be written.
 */
export async function storeUpload(ctx: AppContext, uploaderId: string, request: Request): Promise<ApiFile> {
  const { fileDir, fileMaxBytes, fileTtlDays } = ctx.config;
  const received = await receiveUpload(request, { dir: fileDir, maxBytes: fileMaxBytes });
  const now = Date.now();
  const row: FileTable = {
    id: newId(),
    uploader_id: uploaderId,
    name: received.name,
    size: received.size,
    mime: received.mime,
    sha256: received.sha256,
    storage_name: received.storageName,
    created_at: now,
    expires_at: now + fileTtlDays * DAY_MS,
  };
  try {
    await ctx.database.db.insertInto('files').values(row).execute();
  } catch (err) {
    await removeBytes(fileDir, received.storageName);
    throw err;
  }
  return toFile(row);
}

/** A file row that has not expired, or undefined. */
export async function findLiveFile(db: Db, fileId: string, now: number): Promise<FileTable | undefined> {
  const row = await db.selectFrom('files').selectAll().where('id', '=', fileId).where('expires_at', '>', now).executeTakeFirst();
  return row ? { ...row, size: Number(row.size), created_at: Number(row.created_at), expires_at: Number(row.expires_at) } : undefined;
}

/**
 * Deletes the caller's own unexpired file: the row first (no new download can start), then
 * the bytes. Returns false when there is no such file of theirs.
 */
export async function deleteOwnFile(ctx: AppContext, uploaderId: string, fileId: string): Promise<boolean> {
  const { db } = ctx.database;
  const file = await findLiveFile(db, fileId, Date.now());
  if (!file || file.uploader_id !== uploaderId) return false;
  const r = await db.deleteFrom('files').where('id', '=', fileId).where('uploader_id', '=', uploaderId).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) return false;
  await removeBytes(ctx.config.fileDir, file.storage_name);
  return true;
}

/**
 * Removes stored bytes; true when they existed. A file already gone is not an error; any
 * other failure is logged and left for the sweep's orphan pass.
 */
export async function removeBytes(fileDir: string, storageName: string): Promise<boolean> {
  try {
    await fs.promises.unlink(storagePath(fileDir, storageName));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('could not remove file bytes', { storageName, error: String(err) });
    return false;
  }
}
