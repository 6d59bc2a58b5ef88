/**
 * GET /api/guilds/:guildId/members — the members with their roles.
 * Who: members and the guild token. 200 {members}. Errors: 401, 404.
 */
import { guildMember } from '../../lib/guilds/guild-access-policies.js';
import { listGuildMembers, toGuildMember } from '../../lib/guilds/guilds.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/guilds/:guildId/members',
  access: guildMember,
  doc: {
    tag: 'Guilds',
    summary: 'The members with their roles',
    success: { 200: '{members}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, params }) => ({ members: (await listGuildMembers(ctx.database.db, params.guildId)).map(toGuildMember) }),
});
