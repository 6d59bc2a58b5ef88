/**
 * DELETE /api/channels/:channelId/members/:userId — 204; channel.left when a row was deleted.
 * Who: the member itself, the channel's creator, guild owner/admin, guild token. Errors: 401, 403, 404.
 */
import { userIdOf } from '../../lib/access.js';
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { leaveChannel } from '../../lib/channels/join-leave.js';
import { forbidden } from '../../lib/errors.js';
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';

export default defineHandler({
  method: 'DELETE',
  path: '/api/channels/:channelId/members/:userId',
  access: channelReader,
  // A member may remove itself; anyone else needs the channel's admin rights.
  guard: ({ principal, access: view, params }) => {
    const self = principal.kind === 'user' && principal.userId === params.userId;
    if (!self && !view.canAdmin) throw forbidden('only the member, the creator or a guild admin may remove a member');
  },
  doc: {
    tag: 'Channels',
    summary: 'Remove a channel member',
    who: "the member itself, the channel's creator, guild owner/admin, guild token",
    success: { 204: 'no content' },
    errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view, params }) => {
    await leaveChannel(ctx, view.channel, params.userId, userIdOf(principal));
    return noContent();
  },
});
