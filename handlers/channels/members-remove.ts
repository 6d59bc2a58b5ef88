/**
 * DELETE /api/channels/:channelId/members/:userId — 204; channel.left when a row was deleted.
 * Who: the member itself, the channel's creator, guild owner/admin, guild token. Errors: 401, 403, 404.
 */
import { userIdOf } from '../../lib/access.js';
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';

export default defineHandler({ method: 'DELETE', path: '/api/channels/:channelId/members/:userId' }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const self = principal.kind === 'user' && principal.userId === params.userId;
  if (!self && !view.canAdmin) throw forbidden('only the member, the creator or a guild admin may remove a member');
  await leaveChannel(ctx, view.channel, params.userId, userIdOf(principal));
  return noContent();
});
