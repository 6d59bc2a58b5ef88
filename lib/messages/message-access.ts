import type { Principal } from '../center/client.js';
import type { Db } from '../db/index.js';
import { channelClosed, editWindowExpired, forbidden, HttpError, notFound } from '../errors.js';
import { requireReadableChannel, type ChannelView } from '../guilds/standing.js';
import { requireUser, type UserPrincipal } from '../http/auth.js';
import { findMessage } from './message-queries.js';
import { isEditWindowOpen } from './message-rules.js';
import type { MessageRow } from './message-shape.js';

/**
 * Who may do what with messages (api.md "Messages" and "Who sees what"), in the order of
 * checks of api.md: 404, then 403, then 409.
 */

/** Writing as an author: a user (a guild token gets 403) who is a member (403) of an open channel (409). */
export function requireAuthorInChannel(view: ChannelView, principal: Principal, action: string): UserPrincipal {
  const user = requireUser(principal, action);
  if (!view.isMember) throw forbidden(`${action} needs channel membership`);
  if (view.channel.closed) throw channelClosed();
  return user;
}

/** A message and the caller's view of its channel; 404 when the message is unknown or its channel is not readable. */
export async function requireReadableMessage(db: Db, principal: Principal, messageId: string): Promise<{ row: MessageRow; view: ChannelView }> {
  const row = await findMessage(db, messageId);
  if (!row) throw notFound('message');
  try {
    return { row, view: await requireReadableChannel(db, principal, row.channel_id) };
  } catch (err) {
    if (err instanceof HttpError && err.status === 404) throw notFound('message'); // never say which part is missing
    throw err;
  }
}

/** PATCH: the author, still a member, of a live message in an open channel, inside the edit window at `now` (on the clock of `messageTime`). */
export async function requireEditableMessage(db: Db, principal: Principal, messageId: string, editWindowSeconds: number, now: number) {
  const { row, view } = await requireReadableMessage(db, principal, messageId);
  if (row.deleted_at !== null) throw notFound('message');
  const user = requireUser(principal, 'editing a message');
  if (row.author_id !== user.userId) throw forbidden('only the author may edit a message');
  requireAuthorInChannel(view, principal, 'editing a message');
  if (!isEditWindowOpen(Number(row.created_at), now, editWindowSeconds)) {
    throw editWindowExpired(editWindowSeconds);
  }
  return { row, view };
}

/** DELETE: the author (even after leaving a public channel it still reads), a guild owner/admin or the guild token; open channel. */
export async function requireDeletableMessage(db: Db, principal: Principal, messageId: string) {
  const { row, view } = await requireReadableMessage(db, principal, messageId);
  const isAuthor = principal.kind === 'user' && principal.userId === row.author_id;
  if (!isAuthor && !view.isGuildAdmin) throw forbidden('only the author, a guild owner/admin or the guild token may delete a message');
  if (view.channel.closed) throw channelClosed();
  return { row, view };
}
