import type { Principal, TokenSession } from '../center/client.js';
import type { AppContext } from '../context.js';
import { HttpError } from '../errors.js';

export type { Principal } from '../center/client.js';
export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

const unauthorized = () => new HttpError(401, 'unauthorized', 'a valid token is required');

/** The Bearer token of a request (or `?access_token=` where the endpoint allows it). */
export function tokenOf(request: Request, url: URL, allowQueryToken: boolean): string | null {
  const header = request.headers.get('authorization');
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (m) return m[1];
  if (allowQueryToken) return url.searchParams.get('access_token') || null;
  return null;
}

/** Resolves a token to its principal through Center (cached), or throws 401 / 503. */
export async function authenticateToken(ctx: AppContext, token: string | null): Promise<Principal> {
  if (!token) throw unauthorized();
  const principal = await ctx.center.introspect(token);
  if (!principal) throw unauthorized();
  return principal;
}

/** The principal as a user, or 403 for a guild token (actions that need a person or an agent). */
export function requireUser(principal: Principal, action = 'this action'): UserPrincipal {
  if (principal.kind !== 'user') throw new HttpError(403, 'forbidden', `${action} needs a user token`);
  return principal;
}

/** Like `authenticateToken`, with the token's expiry and the cache's schedule (for sockets that stay open). */
export async function authenticateSession(ctx: AppContext, token: string | null): Promise<TokenSession> {
  if (!token) throw unauthorized();
  const session = await ctx.center.session(token);
  if (!session) throw unauthorized();
  return session;
}
