import { canReadChannel, type GuildStanding } from '../access.js';
import type { Principal } from '../center/client.js';
import type { Db } from '../db/index.js';
import type { FileTable, GuildRole } from '../db/schema.js';
import { notFound } from '../errors.js';
import { findLiveFile } from './files.js';

/**
 * The file a principal may download, or 404 (api.md "Files"): its uploader, and whoever
 * may read a channel holding a non-deleted message that attaches it. Expired files and
 * files the caller may not see are the same 404.
 */
export async function requireDownloadableFile(db: Db, principal: Principal, fileId: string, now: number): Promise<FileTable> {
  const file = await findLiveFile(db, fileId, now);
  if (!file) throw notFound('file');
  if (principal.kind === 'user' && principal.userId === file.uploader_id) return file;
  if (!(await readsAChannelAttaching(db, principal, fileId))) throw notFound('file');
  return file;
}

/** True when some channel with a live message attaching the file is readable by the principal. */
async function readsAChannelAttaching(db: Db, principal: Principal, fileId: string): Promise<boolean> {
  const userId = principal.kind === 'user' ? principal.userId : '';
  const channels = await db
    .selectFrom('message_attachments as a')
    .innerJoin('messages as m', 'm.id', 'a.message_id')
    .innerJoin('channels as c', 'c.id', 'm.channel_id')
    .leftJoin('guild_members as gm', (j) => j.onRef('gm.guild_id', '=', 'c.guild_id').on('gm.user_id', '=', userId))
    .leftJoin('channel_members as cm', (j) => j.onRef('cm.channel_id', '=', 'c.id').on('cm.user_id', '=', userId))
    .select(['c.guild_id', 'c.is_public', 'c.created_by', 'gm.role as role', 'cm.user_id as member'])
    .distinct()
    .where('a.file_id', '=', fileId)
    .where('m.deleted_at', 'is', null)
    .execute();
  return channels.some((c) => {
    const standing: GuildStanding = {
      guildId: c.guild_id,
      role: (c.role as GuildRole | null) ?? null,
      isGuildToken: principal.kind === 'guild' && principal.guildId === c.guild_id,
    };
    // A channel membership row counts only while the user is still in the guild (as requireReadableChannel does).
    const isMember = c.member !== null && standing.role !== null;
    return canReadChannel(standing, { guildId: c.guild_id, isPublic: !!c.is_public, createdBy: c.created_by }, isMember);
  });
}
