/**
 * The access policies about a message, and writing as an author in a channel
 * (lib/http/access-policy.ts says what a policy is).
 */
import type { Principal } from '../center/client.js';
import { messageTime } from '../db/dialect.js';
import { channelPolicy } from '../channels/channel-access-policies.js';
import type { ChannelView } from '../guilds/standing.js';
import { caller, type AccessPolicy } from '../http/access-policy.js';
import { requireAuthorInChannel, requireDeletableMessage, requireEditableMessage, requireReadableMessage } from './message-access.js';
import type { MessageRow } from './message-shape.js';

/** Writing as an author: a user (403 for a guild token) who is a member (403) of the open channel (409). */
export const channelAuthor = /* @__PURE__ */ channelPolicy('channel-author', 'channel members (users)', (view, principal) =>
  requireAuthorInChannel(view, principal, 'writing as an author'),
);

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
    access: await requireEditableMessage(ctx.database.db, caller(principal), messageId, ctx.config.editWindowSeconds, await messageTime(ctx.database.db, ctx.database.dialect)),
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
