/**
 * GET /api/guilds/:guildId — one guild. Who: members and the guild token. 200 {guild}. Errors: 401, 404.
 */
import { getGuild, toGuild } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Guilds',
  summary: 'One guild',
  who: 'members and the guild token',
  success: { 200: '{guild}' },
  errors: { 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/guilds/:guildId', doc }, async ({ ctx, principal, params }) => {
  await requireGuildStanding(ctx.database.db, principal, params.guildId);
  return { guild: toGuild(await getGuild(ctx.database.db, params.guildId), ctx.config.nodeId) };
});
