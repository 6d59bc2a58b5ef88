/**
 * GET /api/guilds/:guildId — one guild. Who: members and the guild token. 200 {guild}. Errors: 401, 404.
 */
import { getGuild, toGuild } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/guilds/:guildId' }, async ({ ctx, principal, params }) => {
  await requireGuildStanding(ctx.database.db, principal, params.guildId);
  return { guild: toGuild(await getGuild(ctx.database.db, params.guildId), ctx.config.nodeId) };
});
