/**
 * Who may do what (api.md "Who sees what"). Pure functions over facts the caller loaded:
 * the principal, its role in the guild, whether it is a member of the channel. Loading the
 * facts lives in lib/guilds/access-queries.ts; nothing here does I/O.
 */
import type { Principal } from './center/client.js';
import type { GuildRole } from './db/schema.js';

/** What a principal is to one guild: a member with a role, the guild's own token, or nobody. */
export interface GuildStanding {
  guildId: string;
  /** The user's role, or null for the guild token and for non-members. */
  role: GuildRole | null;
  isGuildToken: boolean;
}

export interface ChannelFacts {
  guildId: string;
  isPublic: boolean;
  createdBy: string;
}

/** A user id, or null for a guild token. */
export const userIdOf = (p: Principal): string | null => (p.kind === 'user' ? p.userId : null);

/** Members and the guild's token see the guild; everyone else gets 404. */
export const canSeeGuild = (s: GuildStanding) => s.isGuildToken || s.role !== null;

/** Owner, admin, or the guild token: administers the guild and every channel in it. */
export const isGuildAdmin = (s: GuildStanding) => s.isGuildToken || s.role === 'owner' || s.role === 'admin';

/** Reads a channel: guild admins always; members of the channel; guild members when it is public. */
export function canReadChannel(s: GuildStanding, ch: ChannelFacts, isChannelMember: boolean): boolean {
  if (!canSeeGuild(s)) return false;
  return isGuildAdmin(s) || isChannelMember || ch.isPublic;
}

/** Administers a channel (PATCH, wake mapping, turn lists, removing members): its creator or a guild admin. */
export function canAdminChannel(s: GuildStanding, ch: ChannelFacts, principal: Principal): boolean {
  return isGuildAdmin(s) || (principal.kind === 'user' && principal.userId === ch.createdBy && s.role !== null);
}
