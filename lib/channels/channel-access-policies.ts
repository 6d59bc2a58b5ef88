/**
 * The access policies about a channel (lib/http/access-policy.ts says what a policy is): 404
 * unless the caller may read it (private channels do not exist for outsiders), then the
 * policy's own check (403/409).
 */
import type { Principal } from '../center/client.js';
import { forbidden } from '../errors.js';
import { requireReadableChannel, type ChannelView } from '../guilds/standing.js';
import { caller, type AccessPolicy } from '../http/access-policy.js';
import { requireUser } from '../http/auth.js';

/** A channel policy: readable (404), then `check` (403/409) on the caller's view of it. */
export function channelPolicy<P extends Principal>(name: string, who: string, check: (view: ChannelView, principal: Principal) => P): AccessPolicy<P, ChannelView> {
  return {
    name,
    who,
    auth: true,
    target: 'channelId',
    async resolve(ctx, principal, channelId) {
      const view = await requireReadableChannel(ctx.database.db, caller(principal), channelId);
      return { principal: check(view, caller(principal)), access: view };
    },
  };
}

/** Its readers: guild admins and the guild token, its members, guild members when it is public. */
export const channelReader = /* @__PURE__ */ channelPolicy('channel-reader', 'readers of the channel', (_view, principal) => principal);

/** Its readers, as users (a guild token gets 403). */
export const channelReaderUser = /* @__PURE__ */ channelPolicy('channel-reader-user', 'readers of the channel (users)', (_view, principal) => requireUser(principal));

/** Its members (users or not member: 403). */
export const channelMemberUser = /* @__PURE__ */ channelPolicy('channel-member-user', 'channel members (users)', (view, principal) => {
  if (principal.kind !== 'user' || !view.isMember) throw forbidden('only channel members may do this');
  return principal;
});

/** Its members, guild owners/admins and the guild token. */
export const channelMemberOrGuildAdmin = /* @__PURE__ */ channelPolicy('channel-member-or-guild-admin', 'any channel member, guild owner/admin, guild token', (view, principal) => {
  if (!view.isMember && !view.isGuildAdmin) throw forbidden('only channel members and guild admins may do this');
  return principal;
});

/** Its administrators: its creator, guild owners/admins, the guild token. */
export const channelAdmin = /* @__PURE__ */ channelPolicy('channel-admin', "the channel's creator, guild owner/admin, guild token", (view, principal) => {
  if (!view.canAdmin) throw forbidden('only the creator, a guild owner/admin or the guild token may do this');
  return principal;
});

/** Guild owners/admins and the guild token, not the channel's creator as such. */
export const channelGuildAdmin = /* @__PURE__ */ channelPolicy('channel-guild-admin', "guild owner/admin, guild token — not the channel's creator as such", (view, principal) => {
  if (!view.isGuildAdmin) throw forbidden('only a guild owner/admin or the guild token may do this');
  return principal;
});
