/**
 * POST /api/guilds/:guildId/members — add users with a role and a kind (person, the default, or
 * agent); existing members are left as they are.
 * Who: owner, admin, guild token. 200 {added}. Errors: 400 bad_request / invalid_reference (unknown to Center), 401, 403, 404, 503 center_unavailable.
 */
import { z } from 'zod';
import { guildAdmin } from '../../lib/guilds/guild-access-policies.js';
import { addGuildMembers, MEMBER_KINDS } from '../../lib/guilds/guilds.js';
import { defineHandler } from '../../lib/http/handler.js';
import { userIdListSchema } from '../../lib/validation.js';

export default defineHandler({
  method: 'POST',
  path: '/api/guilds/:guildId/members',
  access: guildAdmin,
  body: z.object({
    userIds: userIdListSchema,
    role: z.enum(['member', 'admin']).default('member'),
    kind: z.enum(MEMBER_KINDS).default('person'),
  }),
  doc: {
    tag: 'Guilds',
    summary: 'Add users (existing members are left as they are)',
    success: { 200: '{added}' },
    errors: { 400: ['bad_request', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'], 503: ['center_unavailable'] },
  },
  run: async ({ ctx, params, body }) => ({ added: await addGuildMembers(ctx, params.guildId, body.userIds, body.role, body.kind) }),
});
