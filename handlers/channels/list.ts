/**
 * GET /api/channels?guildId= — the channels of a guild the caller can read, by name, with isMember.
 * Who: guild members and the guild token. 200 {channels}. Errors: 400 (guildId missing), 401, 404.
 */
import { z } from 'zod';
import { listReadableChannels } from '../../lib/channels/channels.js';
import { guildMember } from '../../lib/guilds/guild-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels',
  // The guild is named in the query, validated first.
  access: guildMember,
  query: z.object({ guildId: z.string().min(1).max(64) }),
  doc: {
    tag: 'Channels',
    summary: 'The channels of a guild the caller can read',
    success: { 200: '{channels}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: standing }) => ({ channels: await listReadableChannels(ctx.database.db, principal, standing) }),
});
