/**
 * GET /api/guilds — the guilds the caller is a member of (a guild token: its own guild).
 * 200 {guilds}. Errors: 401.
 */
import { listGuildsOfUser, toGuild } from '../../lib/guilds/guilds.js';
import { anyCaller } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/guilds',
  access: anyCaller,
  doc: {
    tag: 'Guilds',
    summary: "The caller's guilds",
    success: { 200: '{guilds}' },
    errors: { 401: ['unauthorized'] },
  },
  run: async ({ ctx, principal }) => {
    const { db } = ctx.database;
    const rows = principal.kind === 'user' ? await listGuildsOfUser(db, principal.userId) : await db.selectFrom('guilds').selectAll().where('id', '=', principal.guildId).execute();
    return { guilds: rows.map((g) => toGuild(g, ctx.config.nodeId)) };
  },
});
