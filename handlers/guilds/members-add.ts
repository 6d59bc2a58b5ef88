/**
 * POST /api/guilds/:guildId/members — add users with a role and a kind (person, the default, or
 * agent); existing members are left as they are.
 * Who: owner, admin, guild token. 200 {added}. Errors: 400 bad_request / invalid_reference (unknown to Center), 401, 403, 404, 503 center_unavailable.
 */
import { z } from 'zod';
import { isGuildAdmin } from '../../lib/access.js';
import { forbidden } from '../../lib/errors.js';
import { addGuildMembers, MEMBER_KINDS } from '../../lib/guilds/guilds.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { userIdListSchema } from '../../lib/validation.js';

const body = z.object({
  userIds: userIdListSchema,
  role: z.enum(['member', 'admin']).default('member'),
  kind: z.enum(MEMBER_KINDS).default('person'),
});

const doc: RouteDoc = {
  tag: 'Guilds',
  summary: 'Add users (existing members are left as they are)',
  who: 'owner, admin, guild token',
  body,
  success: { 200: '{added}' },
  errors: { 400: ['bad_request', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 503: ['center_unavailable'] },
};

export default defineHandler({ method: 'POST', path: '/api/guilds/:guildId/members', doc }, async ({ request, ctx, principal, params }) => {
  const standing = await requireGuildStanding(ctx.database.db, principal, params.guildId);
  if (!isGuildAdmin(standing)) throw forbidden('only the owner, an admin or the guild token may add members');
  const input = await readJson(request, body);
  return { added: await addGuildMembers(ctx, params.guildId, input.userIds, input.role, input.kind) };
});
