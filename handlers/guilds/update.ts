/**
 * PATCH /api/guilds/:guildId — change name/description.
 * Who: owner, admin, guild token. 200 {guild}. Errors: 400, 401, 403, 404.
 */
import { z } from 'zod';
import { guildAdmin } from '../../lib/guilds/guild-access-policies.js';
import { toGuild, updateGuild } from '../../lib/guilds/guilds.js';
import { defineHandler } from '../../lib/http/handler.js';
import { chars, storedText } from '../../lib/validation.js';

export default defineHandler({
  method: 'PATCH',
  path: '/api/guilds/:guildId',
  access: guildAdmin,
  body: z.object({ name: storedText().trim().check(chars(1, 100)).optional(), description: storedText().check(chars(0, 1000)).optional() }),
  doc: {
    tag: 'Guilds',
    summary: 'Change name/description',
    success: { 200: '{guild}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, params, body }) => ({ guild: toGuild(await updateGuild(ctx.database.db, params.guildId, body), ctx.config.nodeId) }),
});
