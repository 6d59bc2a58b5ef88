/**
 * DELETE /api/guilds/:guildId/members/:userId — remove a member (and from every channel of the guild).
 * Who: owner, admin, guild token, or the member itself. 204. Errors: 401, 403, 404, 409 conflict (the owner).
 */
import { isGuildAdmin, userIdOf } from '../../lib/access.js';
import { forbidden } from '../../lib/errors.js';
import { guildMember } from '../../lib/guilds/guild-access-policies.js';
import { removeGuildMember, requireGuildMemberRow } from '../../lib/guilds/guilds.js';
import { defineHandler } from '../../lib/http/handler.js';
import { noContent } from '../../lib/http/respond.js';

export default defineHandler({
  method: 'DELETE',
  path: '/api/guilds/:guildId/members/:userId',
  access: guildMember,
  // A member may remove itself; anyone else needs the guild's admin rights. Someone who is no
  // member is 404 before that 403 (api.md's order; members see the member list anyway).
  guard: async ({ ctx, principal, access: standing, params }) => {
    const self = principal.kind === 'user' && principal.userId === params.userId;
    if (self || isGuildAdmin(standing)) return;
    await requireGuildMemberRow(ctx.database.db, params.guildId, params.userId);
    throw forbidden('only the owner, an admin, the guild token or the member itself may remove a member');
  },
  doc: {
    tag: 'Guilds',
    summary: 'Remove a member (and from every channel of the guild)',
    who: 'owner, admin, guild token, or the member itself',
    success: { 204: 'no content' },
    errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['conflict'] },
  },
  run: async ({ ctx, principal, params }) => {
    await removeGuildMember(ctx, params.guildId, params.userId, userIdOf(principal));
    return noContent();
  },
});
