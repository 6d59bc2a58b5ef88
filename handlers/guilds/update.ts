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
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { chars, storedText } from '../../lib/validation.js';

const body = z.object({ name: storedText().trim().check(chars(1, 100)).optional(), description: storedText().check(chars(0, 1000)).optional() });

const doc: RouteDoc = {
  tag: 'Guilds',
  summary: 'Change name/description',
  who: 'owner, admin, guild token',
  body,
  success: { 200: '{guild}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'PATCH', path: '/api/guilds/:guildId', doc }, async ({ request, ctx, principal, params }) => {
  const standing = await requireGuildStanding(ctx.database.db, principal, params.guildId);
  if (!isGuildAdmin(standing)) throw forbidden('only the owner, an admin or the guild token may change the guild');
  const patch = await readJson(request, body);
  return { guild: toGuild(await updateGuild(ctx.database.db, params.guildId, patch), ctx.config.nodeId) };
});
