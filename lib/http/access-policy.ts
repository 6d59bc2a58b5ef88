/**
 * Who may call an endpoint, as data: each handler declares one of these policies
 * (`defineHandler({ access })`), and the pipeline resolves it before the endpoint's input is
 * read, so its 401, 404, 403 and 409 answer first (api.md "Who sees what", order of checks:
 * 401, 404, 403, 409, then 400/413/415). The rules themselves are the pure functions of
 * lib/access.ts and the loaders of lib/guilds, lib/messages and lib/files; a policy only names
 * which of them an endpoint needs and what it hands to the endpoint (`access`).
 *
 * A rule of one endpoint alone (the member itself or an admin, the canvas's sharer) stays in
 * that endpoint's `guard` or `run`.
 */
import type { GuildStanding } from '../access.js';
import type { Principal } from '../center/client.js';
import type { AppContext } from '../context.js';
import type { FileTable } from '../db/schema.js';
import { forbidden } from '../errors.js';
import { requireDownloadableFile } from '../files/download-access.js';
import { requireGuildStanding, requireReadableChannel, type ChannelView } from '../guilds/standing.js';
import { requireAuthorInChannel, requireDeletableMessage, requireEditableMessage, requireReadableMessage } from '../messages/message-access.js';
import type { MessageRow } from '../messages/message-shape.js';
import { requireUser, type UserPrincipal } from './auth.js';

/** What an endpoint is about, named by its id: a path parameter, else a field of the query or of the body. */
export type AccessTarget = 'guildId' | 'channelId' | 'messageId' | 'fileId';

/**
 * One policy: whether a token is needed, what it is about, and how the caller's standing is
 * resolved. `P` is the principal the endpoint then sees (null without a token, a user where
 * the policy admits users only); `A` what the resolution hands over (a guild standing, a
 * channel view, a message, a file).
 */
export interface AccessPolicy<P extends Principal | null = Principal | null, A = unknown> {
  /** A short name (`channel-admin`), for tests and messages. */
  readonly name: string;
  /** Who may call, in api.md's words: the route doc's `who` unless the endpoint narrows it. */
  readonly who: string;
  /** Whether a token is needed (401 without one). */
  readonly auth: boolean;
  readonly target?: AccessTarget;
  /** The caller's standing towards `id` (the target's value; '' without a target), or 404/403/409. */
  resolve(ctx: AppContext, principal: Principal | null, id: string): Promise<{ principal: P; access: A }>;
}

/** The principal of a policy whose `auth` is true (the pipeline authenticates before resolving). */
const caller = (principal: Principal | null): Principal => principal!;

const guildAdminOnly = (what: string) => forbidden(`only the owner, an admin or the guild token may ${what}`);

// --- The caller alone ---

/** No token: health, readiness, the API reference. */
export const open: AccessPolicy<null, undefined> = {
  name: 'open',
  who: 'anyone (no token)',
  auth: false,
  resolve: async () => ({ principal: null, access: undefined }),
};

/** Any valid token, user or guild. */
export const anyCaller: AccessPolicy<Principal, undefined> = {
  name: 'any-caller',
  who: 'any token',
  auth: true,
  resolve: async (_ctx, principal) => ({ principal: caller(principal), access: undefined }),
};

/** User tokens only: a guild token gets 403. */
export const userOnly: AccessPolicy<UserPrincipal, undefined> = {
  name: 'user-only',
  who: 'user tokens only (a guild token gets 403)',
  auth: true,
  resolve: async (_ctx, principal) => ({ principal: requireUser(caller(principal)), access: undefined }),
};

// --- A guild (404 for non-members) ---

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
    if (!standing.isGuildToken && standing.role !== 'owner' && standing.role !== 'admin') throw guildAdminOnly('do this');
    return { principal: caller(principal), access: standing };
  },
};

// --- A channel (404 unless readable: private channels do not exist for outsiders) ---

/** A channel policy: readable (404), then `check` (403/409) on the caller's view of it. */
function channelPolicy<P extends Principal>(name: string, who: string, check: (view: ChannelView, principal: Principal) => P): AccessPolicy<P, ChannelView> {
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

/** Writing as an author: a user (403 for a guild token) who is a member (403) of the open channel (409). */
export const channelAuthor = /* @__PURE__ */ channelPolicy('channel-author', 'channel members (users)', (view, principal) => requireAuthorInChannel(view, principal, 'writing as an author'));

/** Its administrators: its creator, guild owners/admins, the guild token. */
export const channelAdmin = /* @__PURE__ */ channelPolicy('channel-admin', "the channel's creator, guild owner/admin, guild token", (view, principal) => {
  if (!view.canAdmin) throw forbidden('only the creator, a guild owner/admin or the guild token may do this');
  return principal;
});

/** Guild owners/admins and the guild token, not the channel's creator as such. */
export const channelGuildAdmin = /* @__PURE__ */ channelPolicy('channel-guild-admin', "guild owner/admin, guild token — not the channel's creator as such", (view, principal) => {
  if (!view.isGuildAdmin) throw guildAdminOnly('do this');
  return principal;
});

// --- A message (404 unless its channel is readable) ---

export interface MessageAccess {
  row: MessageRow;
  view: ChannelView;
}

/** Readers of its channel. */
export const messageReader: AccessPolicy<Principal, MessageAccess> = {
  name: 'message-reader',
  who: 'readers of its channel',
  auth: true,
  target: 'messageId',
  resolve: async (ctx, principal, messageId) => ({ principal: caller(principal), access: await requireReadableMessage(ctx.database.db, caller(principal), messageId) }),
};

/** Its author, while a channel member, inside the edit window (409 after it), in an open channel. */
export const messageEditor: AccessPolicy<Principal, MessageAccess> = {
  name: 'message-editor',
  who: 'the author, while a channel member, within EDIT_WINDOW_SECONDS of createdAt',
  auth: true,
  target: 'messageId',
  resolve: async (ctx, principal, messageId) => ({
    principal: caller(principal),
    access: await requireEditableMessage(ctx.database.db, caller(principal), messageId, ctx.config.editWindowSeconds, Date.now()),
  }),
};

/** Its author, guild owners/admins and the guild token, in an open channel. */
export const messageDeleter: AccessPolicy<Principal, MessageAccess> = {
  name: 'message-deleter',
  who: 'the author, guild owner/admin, guild token',
  auth: true,
  target: 'messageId',
  resolve: async (ctx, principal, messageId) => ({ principal: caller(principal), access: await requireDeletableMessage(ctx.database.db, caller(principal), messageId) }),
};

// --- A file ---

/** Its uploader, and readers of any channel with a live message attaching it (404 for anyone else). */
export const fileReader: AccessPolicy<Principal, FileTable> = {
  name: 'file-reader',
  who: 'the uploader, and readers of any channel with a non-deleted message attaching the file',
  auth: true,
  target: 'fileId',
  resolve: async (ctx, principal, fileId) => ({ principal: caller(principal), access: await requireDownloadableFile(ctx.database.db, caller(principal), fileId, Date.now()) }),
};
