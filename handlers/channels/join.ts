/**
 * POST /api/channels/:channelId/join — {bypass?} → 200 {joined}. Self-join: a public channel by a guild
 * member, any channel by a guild owner/admin. false when already a member (no event).
 * Errors: 401, 403 (guild token: no user to join), 404.
 */
import { z } from 'zod';
import { joinChannel } from '../../lib/channels/join-leave.js';
import { requireUser } from '../../lib/http/auth.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readJson } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const body = z.object({ bypass: z.boolean().default(false) });

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'Join a channel (self-join)',
  body,
  success: { 200: '{joined}: false when already a member' },
  errors: { 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
};

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/join', doc }, async ({ request, ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  const user = requireUser(principal, 'joining a channel');
  const input = await readJson(request, body);
  return { joined: await joinChannel(ctx, view.channel, user.userId, input.bypass) };
});
