/**
 * The access policies about a guild (lib/http/access-policy.ts says what a policy is); about a
 * channel: lib/channels/channel-access-policies.ts.
 */
import { isGuildAdmin, type GuildStanding } from '../access.js';
import type { Principal } from '../center/client.js';
import { forbidden } from '../errors.js';
import { caller, type AccessPolicy } from '../http/access-policy.js';
import { requireGuildStanding } from './standing.js';

/** Members of the guild and its token. */
export const guildMember: AccessPolicy<Principal, GuildStanding> = {
  name: 'guild-member',
  who: 'guild members and the guild token',
  auth: true,
  target: 'guildId',
  resolve: async (ctx, principal, guildId) => ({ principal: caller(principal), access: await requireGuildStanding(ctx.database.db, caller(principal), guildId) }),
};

/** The guild's owner and admins, and its token: other members get 403. */
export const guildAdmin: AccessPolicy<Principal, GuildStanding> = {
  name: 'guild-admin',
  who: 'owner, admin, guild token',
  auth: true,
  target: 'guildId',
  async resolve(ctx, principal, guildId) {
    const standing = await requireGuildStanding(ctx.database.db, caller(principal), guildId);
    if (!isGuildAdmin(standing)) throw forbidden('only the owner, an admin or the guild token may do this');
    return { principal: caller(principal), access: standing };
  },
};
