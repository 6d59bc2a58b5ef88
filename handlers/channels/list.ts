/**
 * GET /api/channels?guildId= — the channels of a guild the caller can read, by name, with isMember.
 * Who: guild members and the guild token. 200 {channels}. Errors: 400 (guildId missing), 401, 404.
 */
import { z } from 'zod';
import { listReadableChannels } from '../../lib/channels/channels.js';
import { requireGuildStanding } from '../../lib/guilds/standing.js';
import { readQuery } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';

const query = z.object({ guildId: z.string().min(1).max(64) });

const doc: RouteDoc = {
  tag: 'Channels',
  summary: 'The channels of a guild the caller can read',
  who: 'guild members and the guild token',
  query,
  success: { 200: '{channels}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels', doc }, async ({ url, ctx, principal }) => {
  const { guildId } = readQuery(url, query);
  const standing = await requireGuildStanding(ctx.database.db, principal, guildId);
  return { channels: await listReadableChannels(ctx.database.db, principal, standing) };
});
