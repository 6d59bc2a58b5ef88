/**
 * DELETE /api/guilds/:guildId/members/:userId — remove a member (and from every channel of the guild).
 * Who: owner, admin, guild token, or the member itself. 204. Errors: 401, 403, 404, 409 conflict (the owner).
 */
import { isGuildAdmin, userIdOf } from '../../lib/access.js';
import { forbidden } from '../../lib/errors.js';
import { removeGuildMember } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { noContent } from '../../lib/http/respond.js';

const doc: RouteDoc = {
  tag: 'Guilds',
  summary: 'Remove a member (and from every channel of the guild)',
  who: 'owner, admin, guild token, or the member itself',
  success: { 204: 'no content' },
  errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['conflict'] },
};

export default defineHandler({ method: 'DELETE', path: '/api/guilds/:guildId/members/:userId', doc }, async ({ ctx, principal, params }) => {
  const standing = await requireGuildStanding(ctx.database.db, principal, params.guildId);
  const self = principal.kind === 'user' && principal.userId === params.userId;
  if (!self && !isGuildAdmin(standing)) throw forbidden('only the owner, an admin, the guild token or the member itself may remove a member');
  await removeGuildMember(ctx, params.guildId, params.userId, userIdOf(principal));
  return noContent();
});
