/**
 * POST /api/channels/:channelId/loop-guard/reset — clears the agent loop guard (tripped false,
 * agentStreak 0); emits channel.loop_guard when it was tripped or counting. A body is ignored.
 * Who: the channel's creator, guild owner/admin, guild token. 200 {channel}. Errors: 401, 403, 404.
 */
import { resetLoopGuard } from '../../lib/channels/channels.js';
import { forbidden } from '../../lib/errors.js';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({ method: 'POST', path: '/api/channels/:channelId/loop-guard/reset' }, async ({ ctx, principal, params }) => {
  const view = await requireReadableChannel(ctx.database.db, principal, params.channelId);
  if (!view.canAdmin) throw forbidden('only the creator, a guild owner/admin or the guild token may reset the loop guard');
  return { channel: await resetLoopGuard(ctx, view.channel.id) };
});
