/**
 * PATCH /api/guilds/:guildId — change name/description.
 * Who: owner, admin, guild token. 200 {guild}. Errors: 400, 401, 403, 404.
 */
import { z } from 'zod';
import { isGuildAdmin } from '../../lib/access.js';
import { forbidden } from '../../lib/errors.js';
import { toGuild, updateGuild } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import { chars, storedText } from '../../lib/validation.js';

const body = z.object({ name: storedText().trim().check(chars(1, 100)).optional(), description: storedText().check(chars(0, 1000)).optional() });

export default defineHandler({ method: 'PATCH', path: '/api/guilds/:guildId' }, async ({ request, ctx, principal, params }) => {
  const standing = await requireGuildStanding(ctx.database.db, principal, params.guildId);
  if (!isGuildAdmin(standing)) throw forbidden('only the owner, an admin or the guild token may change the guild');
  const patch = await readJson(request, body);
  return { guild: toGuild(await updateGuild(ctx.database.db, params.guildId, patch), ctx.config.nodeId) };
});
