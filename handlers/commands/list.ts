/**
 * GET /api/commands?prefix= — the two built-in commands (source "builtin") and every
 * registered one (source: the registering user id), sorted by name; `prefix` keeps the
 * names that start with it (a leading "/" and letter case are ignored). Who: any token.
 * 200 {commands: [{name, description, source, spec}]}. Errors: 400 (prefix over 64 characters), 401.
 */
import { z } from 'zod';
import { normalizePrefix } from '../../lib/commands/command-rules.js';
import { commandListJson, listCommands } from '../../lib/commands/commands.js';
import { anyCaller } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { jsonText } from '../../lib/http/respond.js';

export default defineHandler({
  method: 'GET',
  path: '/api/commands',
  access: anyCaller,
  query: z.object({ prefix: z.string().max(64).optional() }),
  doc: {
    tag: 'Slash commands',
    summary: 'The slash commands: built-in and registered',
    success: { 200: '{commands: [{name, description, source, spec}]}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'] },
  },
  run: async ({ ctx, query }) => {
    const prefix = normalizePrefix(query.prefix);
    return jsonText(commandListJson(prefix === null ? [] : await listCommands(ctx.database.db, prefix)));
  },
});
