/**
 * DELETE /api/channels/:channelId/members/:userId — 204; channel.left when a row was deleted.
 * Who: the member itself, the channel's creator, guild owner/admin, guild token. Errors: 401, 403, 404.
 */
import { userIdOf } from '../../lib/access.js';
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { noContent } from '../../lib/http/respond.js';

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Remove a channel member',
  who: "the member itself, the channel's creator, guild owner/admin, guild token",
  success: { 204: 'no content' },
  errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'DELETE', path: '/api/channels/:channelId/members/:userId', doc }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const self = principal.kind === 'user' && principal.userId === params.userId;
  if (!self && !view.canAdmin) throw forbidden('only the member, the creator or a guild admin may remove a member');
  await leaveChannel(ctx, view.channel, params.userId, userIdOf(principal));
  return noContent();
});
