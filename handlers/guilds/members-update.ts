/**
 * PATCH /api/guilds/:guildId/members/:userId — {role?, kind?} → {member}. The owner's role
 * cannot change; its kind can. Who: owner, admin, guild token. 200 {member}.
 * Errors: 400, 401, 403, 404 (guild, or not a member), 409 conflict (the owner's role).
 */
import { z } from 'zod';
import { isGuildAdmin } from '../../lib/access.js';
import { forbidden } from '../../lib/errors.js';
import { guildMember } from '../../lib/guilds/guild-access-policies.js';
import { MEMBER_KINDS, requireGuildMemberRow, toGuildMember, updateGuildMember } from '../../lib/guilds/guilds.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'PATCH',
  path: '/api/guilds/:guildId/members/:userId',
  access: guildMember,
  // An unknown member is 404 whatever the body holds, and before a plain member's 403 (api.md's order).
  guard: async ({ ctx, access: standing, params }) => {
    await requireGuildMemberRow(ctx.database.db, params.guildId, params.userId);
    if (!isGuildAdmin(standing)) throw forbidden('only the owner, an admin or the guild token may do this');
  },
  body: z.object({ role: z.enum(['member', 'admin']).optional(), kind: z.enum(MEMBER_KINDS).optional() }),
  doc: {
    tag: 'Guilds',
    summary: "Change a member's role or kind (person or agent)",
    who: 'owner, admin, guild token',
    success: { 200: '{member}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 409: ['conflict'] },
  },
  run: async ({ ctx, params, body }) => ({ member: toGuildMember(await updateGuildMember(ctx, params.guildId, params.userId, body)) }),
});
