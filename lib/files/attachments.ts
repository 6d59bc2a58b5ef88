import type { Db } from '../db/index.js';
import type { MessageAttachmentTable } from '../db/schema.js';
import { invalidReference } from '../errors.js';

import type { Attachment } from '../realtime/events.js';

/** An attachment as messages carry it (api.md "Messages"): the event map's type. */
export type { Attachment };

export const fileUrl = (fileId: string) => `/api/files/${fileId}`;

/**
 * Checks that every id is a file uploaded by `uploaderId` and not expired (400
 * invalid_reference otherwise); returns the rows to store in `message_attachments`, in the
 * given order, without `message_id`.
 */
export async function requireUsableAttachments(db: Db, uploaderId: string, fileIds: readonly string[], now: number): Promise<Omit<MessageAttachmentTable, 'message_id'>[]> {
  const ids = [...new Set(fileIds)];
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('files').select(['id', 'name', 'size', 'mime', 'uploader_id', 'expires_at']).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const unusable = ids.filter((id) => {
    const f = byId.get(id);
    return !f || f.uploader_id !== uploaderId || Number(f.expires_at) <= now;
  });
  if (unusable.length > 0) throw invalidReference('attachments must be your own unexpired uploads', { attachmentIds: unusable });
  return ids.map((id, position) => {
    const f = byId.get(id)!;
    return { file_id: id, position, name: f.name, size: Number(f.size), mime: f.mime };
  });
}

/**
 * The attachments of each message, in order. `expired` is true when the file was swept
 * (its row is gone) or is past its retention.
 */
export async function loadAttachments(db: Db, messageIds: readonly string[], now: number): Promise<Map<string, Attachment[]>> {
  const result = new Map<string, Attachment[]>();
  if (messageIds.length === 0) return result;
  const rows = await db
    .selectFrom('message_attachments as a')
    .leftJoin('files as f', 'f.id', 'a.file_id')
    .select(['a.message_id', 'a.file_id', 'a.name', 'a.size', 'a.mime', 'a.position', 'f.expires_at'])
    .where('a.message_id', 'in', [...messageIds])
    .orderBy('a.message_id')
    .orderBy('a.position')
    .execute();
  for (const r of rows) {
    const list = result.get(r.message_id) ?? [];
    list.push({
      id: r.file_id,
      name: r.name,
      size: Number(r.size),
      mime: r.mime,
      url: fileUrl(r.file_id),
      expired: r.expires_at === null || Number(r.expires_at) <= now,
    });
    result.set(r.message_id, list);
  }
  return result;
}
