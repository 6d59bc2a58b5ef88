import { canAdminChannel, canReadChannel, canSeeGuild, isGuildAdmin, type GuildStanding } from '../access.js';
import type { Principal } from '../center/client.js';
import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { ChannelTable, GuildRole } from '../db/schema.js';
import { notFound } from '../errors.js';
import { chunksOf } from '../objects.js';

/** Loads what the principal is to the guild (one indexed lookup). Never throws for outsiders. */
export async function loadGuildStanding(db: Db, principal: Principal, guildId: string): Promise<GuildStanding> {
  if (principal.kind === 'guild') return { guildId, role: null, isGuildToken: principal.guildId === guildId };
  const row = await db.selectFrom('guild_members').select('role').where('guild_id', '=', guildId).where('user_id', '=', principal.userId).executeTakeFirst();
  return { guildId, role: (row?.role as GuildRole | undefined) ?? null, isGuildToken: false };
}

/** The standing of a principal that can see the guild, or 404 (the guild does not exist for outsiders). */
export async function requireGuildStanding(db: Db, principal: Principal, guildId: string): Promise<GuildStanding> {
  const standing = await loadGuildStanding(db, principal, guildId);
  if (!canSeeGuild(standing)) throw notFound('guild');
  const exists = await db.selectFrom('guilds').select('id').where('id', '=', guildId).executeTakeFirst();
  if (!exists) throw notFound('guild');
  return standing;
}

export type ChannelRow = Omit<Selectable<ChannelTable>, 'last_seq' | 'last_pos'> & { last_seq: number; last_pos: number };

/** A channel as one principal sees it: the row, the caller's standing, membership and rights. */
export interface ChannelView {
  channel: ChannelRow;
  standing: GuildStanding;
  isMember: boolean;
  /** Owner/admin/guild token. */
  isGuildAdmin: boolean;
  /** Creator or guild admin. */
  canAdmin: boolean;
}

/**
 * Loads a channel with the caller's guild role and channel membership in one query, and
 * answers 404 unless the caller may read it (private channels do not exist for outsiders).
 */
export async function requireReadableChannel(db: Db, principal: Principal, channelId: string): Promise<ChannelView> {
  const userId = principal.kind === 'user' ? principal.userId : '';
  const row = await db
    .selectFrom('channels as c')
    .leftJoin('guild_members as gm', (j) => j.onRef('gm.guild_id', '=', 'c.guild_id').on('gm.user_id', '=', userId))
    .leftJoin('channel_members as cm', (j) => j.onRef('cm.channel_id', '=', 'c.id').on('cm.user_id', '=', userId))
    .selectAll('c')
    .select(['gm.role as role', 'cm.user_id as member'])
    .where('c.id', '=', channelId)
    .executeTakeFirst();
  if (!row) throw notFound('channel');
  const { role, member, ...channel } = row;
  const standing: GuildStanding = {
    guildId: channel.guild_id,
    role: (role as GuildRole | null) ?? null,
    isGuildToken: principal.kind === 'guild' && principal.guildId === channel.guild_id,
  };
  const isMember = member !== null && member !== undefined && standing.role !== null;
  const facts = { guildId: channel.guild_id, isPublic: !!channel.is_public, createdBy: channel.created_by };
  if (!canReadChannel(standing, facts, isMember)) throw notFound('channel');
  return {
    channel: { ...channel, last_seq: Number(channel.last_seq) },
    standing,
    isMember,
    isGuildAdmin: isGuildAdmin(standing),
    canAdmin: canAdminChannel(standing, facts, principal),
  };
}

/** Users looked up by one query (a statement binds at most 32,766 values on SQLite). */
const USERS_PER_QUERY = 500;

/**
 * Which of `principals` may read the channel now, decided as requireReadableChannel decides
 * for one, in one query per USERS_PER_QUERY users: the realtime node re-checks the joins of
 * one channel together (after a restart, every member of a large channel rejoins it at once).
 */
export async function channelReaders(db: Db, channelId: string, principals: Principal[]): Promise<boolean[]> {
  const userIds = [...new Set(principals.flatMap((p) => (p.kind === 'user' ? [p.userId] : [])))];
  const lists = chunksOf(userIds, USERS_PER_QUERY);
  // '' matches no user: `in ()` is not SQL, and guild tokens need the channel row only.
  if (lists.length === 0) lists.push(['']);
  const rows: Awaited<ReturnType<typeof readersAmong>> = [];
  for (const ids of lists) rows.push(...(await readersAmong(db, channelId, ids)));
  if (rows.length === 0) return principals.map(() => false);
  const channel = rows[0];
  const facts = { guildId: channel.guild_id, isPublic: !!channel.is_public, createdBy: channel.created_by };
  const byUser = new Map(rows.filter((r) => r.user_id).map((r) => [r.user_id!, r]));
  return principals.map((p) => {
    const row = p.kind === 'user' ? byUser.get(p.userId) : undefined;
    const standing: GuildStanding = {
      guildId: channel.guild_id,
      role: (row?.role as GuildRole | null | undefined) ?? null,
      isGuildToken: p.kind === 'guild' && p.guildId === channel.guild_id,
    };
    const isMember = row?.member !== null && row?.member !== undefined && standing.role !== null;
    return canReadChannel(standing, facts, isMember);
  });
}

/** The channel's row joined to the guild and channel member rows of `userIds` (a row without a user when none is a guild member). */
function readersAmong(db: Db, channelId: string, userIds: readonly string[]) {
  return db
    .selectFrom('channels as c')
    .leftJoin('guild_members as gm', (j) => j.onRef('gm.guild_id', '=', 'c.guild_id').on('gm.user_id', 'in', userIds))
    .leftJoin('channel_members as cm', (j) => j.onRef('cm.channel_id', '=', 'c.id').onRef('cm.user_id', '=', 'gm.user_id'))
    .select(['c.guild_id', 'c.is_public', 'c.created_by', 'gm.user_id as user_id', 'gm.role as role', 'cm.user_id as member'])
    .where('c.id', '=', channelId)
    .execute();
}

/** Which of `userIds` are members of the guild now (one query per USERS_PER_QUERY). */
export async function guildMembersAmong(db: Db, guildId: string, userIds: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const ids of chunksOf(userIds, USERS_PER_QUERY)) {
    const rows = await db.selectFrom('guild_members').select('user_id').where('guild_id', '=', guildId).where('user_id', 'in', ids).execute();
    for (const r of rows) found.add(r.user_id);
  }
  return found;
}

/** The guilds each of `userIds` is a member of now, by user (one query per USERS_PER_QUERY users). */
export async function guildsOfUsers(db: Db, userIds: readonly string[]): Promise<Map<string, string[]>> {
  const byUser = new Map<string, string[]>();
  for (const ids of chunksOf(userIds, USERS_PER_QUERY)) {
    const rows = await db.selectFrom('guild_members').select(['user_id', 'guild_id']).where('user_id', 'in', ids).execute();
    for (const r of rows) (byUser.get(r.user_id) ?? byUser.set(r.user_id, []).get(r.user_id)!).push(r.guild_id);
  }
  return byUser;
}
