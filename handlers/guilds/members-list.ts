/**
 * GET /api/guilds/:guildId/members — the members with their roles.
 * Who: members and the guild token. 200 {members}. Errors: 401, 404.
 */
import { listGuildMembers, toGuildMember } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Guilds',
  summary: 'The members with their roles',
  who: 'members and the guild token',
  success: { 200: '{members}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/guilds/:guildId/members', doc }, async ({ ctx, principal, params }) => {
  await requireGuildStanding(ctx.database.db, principal, params.guildId);
  return { members: (await listGuildMembers(ctx.database.db, params.guildId)).map(toGuildMember) };
});
