/**
 * GET /api/guilds/:guildId — one guild. Who: members and the guild token. 200 {guild}. Errors: 401, 404.
 */
import { guildMember } from '../../lib/guilds/guild-access-policies.js';
import { getGuild, toGuild } from '../../lib/guilds/guilds.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/guilds/:guildId',
  access: guildMember,
  doc: {
    tag: 'Guilds',
    summary: 'One guild',
    success: { 200: '{guild}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, params }) => ({ guild: toGuild(await getGuild(ctx.database.db, params.guildId), ctx.config.nodeId) }),
});
