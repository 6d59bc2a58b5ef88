/**
 * Who may call an endpoint, as data: each handler declares one of these policies
 * (`defineHandler({ access })`), and the pipeline resolves it before the endpoint's input is
 * read, so its 401, 404, 403 and 409 answer first (api.md "Who sees what", order of checks:
 * 401, 404, 403, 409, then 400/413/415). The rules themselves are the pure functions of
 * lib/access.ts and the loaders of lib/guilds, lib/messages and lib/files; a policy only names
 * which of them an endpoint needs and what it hands to the endpoint (`access`).
 *
 * Here: the interface and the policies about the caller alone. The policies about a guild are
 * in lib/guilds/guild-access-policies.ts, about a channel in
 * lib/channels/channel-access-policies.ts, about a message (and writing as an author) in
 * lib/messages/message-access-policies.ts, about a file in lib/files/file-access-policy.ts:
 * each bundle loads only the rules its endpoint uses.
 *
 * A rule of one endpoint alone (the member itself or an admin, the canvas's sharer) stays in
 * that endpoint's `guard` or `run`.
 */
import type { Principal } from '../center/client.js';
import type { AppContext } from '../context.js';
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
export const caller = (principal: Principal | null): Principal => principal!;

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
