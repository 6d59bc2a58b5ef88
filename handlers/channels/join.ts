/**
 * POST /api/channels/:channelId/join — {bypass?} → {joined}. Self-join: a public channel by a guild
 * member, any channel by a guild owner/admin. false when already a member (no event).
 * Errors: 401, 403 (guild token: no user to join), 404.
 */
import { z } from 'zod';
import { joinChannel } from '../../lib/channels/join-leave.js';
import { requireUser } from '../../lib/http/auth.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';

const body = z.object({ bypass: z.boolean().default(false) });

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/join' }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const user = requireUser(principal, 'joining a channel');
  const input = await readJson(request, body);
  return { joined: await joinChannel(ctx, view.channel, user.userId, input.bypass) };
});
