/**
 * PATCH /api/guilds/:guildId/members/:userId — {role?, kind?} → {member}. The owner's role
 * cannot change; its kind can. Who: owner, admin, guild token. 200 {member}.
 * Errors: 400, 401, 403, 404 (guild, or not a member), 409 conflict (the owner's role).
 */
import { z } from 'zod';
import { isGuildAdmin } from '../../lib/access.js';
import { forbidden } from '../../lib/errors.js';
import { MEMBER_KINDS, toGuildMember, updateGuildMember } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';

const body = z.object({ role: z.enum(['member', 'admin']).optional(), kind: z.enum(MEMBER_KINDS).optional() });

export default defineHandler({ method: 'PATCH', path: '/api/guilds/:guildId/members/:userId' }, async ({ request, ctx, principal, params }) => {
  const standing = await requireGuildStanding(ctx.database.db, principal, params.guildId);
  if (!isGuildAdmin(standing)) throw forbidden('only the owner, an admin or the guild token may change a member');
  const patch = await readJson(request, body);
  return { member: toGuildMember(await updateGuildMember(ctx, params.guildId, params.userId, patch)) };
});
