/**
 * The access policy about a file (lib/http/access-policy.ts says what a policy is).
 */
import type { Principal } from '../center/client.js';
import type { FileTable } from '../db/schema.js';
import { caller, type AccessPolicy } from '../http/access-policy.js';
import { requireDownloadableFile } from './download-access.js';

// --- A file ---

/** Its uploader, and readers of any channel with a live message attaching it (404 for anyone else). */
export const fileReader: AccessPolicy<Principal, FileTable> = {
  name: 'file-reader',
  who: 'the uploader, and readers of any channel with a non-deleted message attaching the file',
  auth: true,
  target: 'fileId',
  resolve: async (ctx, principal, fileId) => ({ principal: caller(principal), access: await requireDownloadableFile(ctx.database.db, caller(principal), fileId, Date.now()) }),
};
