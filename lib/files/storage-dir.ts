import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../config.js';
import { makeDirectory } from '../make-dir.js';

/**
 * FILE_DIR as the file endpoints need it: a directory that exists (created if missing) and
 * takes a new file. The long-lived processes that store files (all-in-one, API) check it at
 * startup and refuse to start without it; a handler bundle checks it on its first upload.
 * A configuration error: a bundle answers it as one (lib/http/respond.ts).
 */
export class FileDirError extends ConfigError {
  override name = 'FileDirError';
}

const checked = new Set<string>();

/**
 * Creates `dir` if needed, then writes and removes a probe file in it. Throws FileDirError,
 * one line naming FABRIC_BACKEND_GUILD_FILE_DIR, when either fails. The probe's name is
 * never a storage name, so the sweep leaves one left by a crash alone (and the next check
 * replaces nothing: each probe has a name of its own).
 */
export async function checkFileDir(dir: string): Promise<void> {
  const probe = path.join(dir, `.write-check-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await makeDirectory(dir);
    await fs.promises.writeFile(probe, '', { flag: 'wx' });
    await fs.promises.unlink(probe);
  } catch (err) {
    const reason = err instanceof Error ? ((err as NodeJS.ErrnoException).code ?? err.message) : String(err);
    throw new FileDirError(`FABRIC_BACKEND_GUILD_FILE_DIR (${path.resolve(dir)}) is not a writable directory: ${reason}`);
  }
  checked.add(dir);
}

/** checkFileDir once per directory and process (the first upload of a bundle; later ones skip it). */
export async function ensureFileDir(dir: string): Promise<void> {
  if (!checked.has(dir)) await checkFileDir(dir);
}
