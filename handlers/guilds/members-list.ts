/**
 * GET /api/guilds/:guildId/members — the members with their roles.
 * Who: members and the guild token. 200 {members}. Errors: 401, 404.
 */
import { listGuildMembers, toGuildMember } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/guilds/:guildId/members' }, async ({ ctx, principal, params }) => {
  await requireGuildStanding(ctx.database.db, principal, params.guildId);
  return { members: (await listGuildMembers(ctx.database.db, params.guildId)).map(toGuildMember) };
});
