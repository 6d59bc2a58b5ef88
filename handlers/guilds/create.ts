/**
 * POST /api/guilds — create a guild; the caller becomes its owner.
 * Who: user tokens only. 201 {guild}. Errors: 400 bad_request, 401, 403 (guild token).
 */
import { z } from 'zod';
import { createGuild, toGuild } from '../../lib/guilds/guilds.js';
import { userOnly } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { json } from '../../lib/http/respond.js';
import { chars, storedText } from '../../lib/validation.js';

export default defineHandler({
  method: 'POST',
  path: '/api/guilds',
  access: userOnly,
  body: z.object({ name: storedText().trim().check(chars(1, 100)), description: storedText().check(chars(0, 1000)).optional() }),
  doc: {
    tag: 'Guilds',
    summary: 'Create a guild',
    success: { 201: '{guild}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'] },
  },
  run: async ({ ctx, principal, body }) => {
    const guild = await createGuild(ctx, principal.userId, body);
    return json({ guild: toGuild(guild, ctx.config.nodeId) }, 201);
  },
});
