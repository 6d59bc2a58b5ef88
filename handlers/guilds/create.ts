/**
 * POST /api/guilds — create a guild; the caller becomes its owner.
 * Who: user tokens only. 201 {guild}. Errors: 400 bad_request, 401, 403 (guild token).
 */
import { z } from 'zod';
import { createGuild, toGuild } from '../../lib/guilds/guilds.js';
import { requireUser } from '../../lib/http/auth.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { chars, storedText } from '../../lib/validation.js';
import { json } from '../../lib/http/respond.js';

const body = z.object({ name: storedText().trim().check(chars(1, 100)), description: storedText().check(chars(0, 1000)).optional() });

const doc: RouteDoc = {
  tag: 'Guilds',
  summary: 'Create a guild',
  who: 'user tokens only',
  body,
  success: { 201: '{guild}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 403: ['forbidden'] },
};

export default defineHandler({ method: 'POST', path: '/api/guilds', doc }, async ({ request, ctx, principal }) => {
  const user = requireUser(principal, 'creating a guild');
  const input = await readJson(request, body);
  const guild = await createGuild(ctx, user.userId, input);
  return json({ guild: toGuild(guild, ctx.config.nodeId) }, 201);
});
