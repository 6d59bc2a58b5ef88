/**
 * PUT /api/commands — {commands: [spec…]} replaces the whole set of commands registered by
 * the caller (an agent's plugin syncs its agent's commands). A spec has `name`
 * (^[a-z0-9][a-z0-9_-]{0,31}$), optional `description` (≤ 200 characters) and any other
 * fields, all kept as given: the JSON text of each spec as sent (whitespace between tokens
 * dropped) is what is stored and listed. Who: users (a guild token gets 403). 200 {count}.
 * Errors: 400 bad_request (invalid spec, more than 200, a duplicate or built-in name),
 * 401, 403, 413 payload_too_large (over 256 KiB of specs, or a body over 1 MiB), 415.
 */
import { z } from 'zod';
import { COMMAND_NAME, COMMANDS_MAX, DESCRIPTION_MAX, requireValidCommandSet, withSentText, type CommandSpec } from '../../lib/commands/command-rules.js';
import { replaceCommands } from '../../lib/commands/commands.js';
import { userOnly } from '../../lib/http/access-policy.js';
import { defineHandler } from '../../lib/http/handler.js';
import { chars, storedText } from '../../lib/validation.js';

const knownFields = z.object({
  name: z.string().regex(COMMAND_NAME, 'must match ^[a-z0-9][a-z0-9_-]{0,31}$'),
  description: storedText().check(chars(0, DESCRIPTION_MAX)).optional(),
});

// Checked field by field, but the spec itself passes through untouched (field order included;
// not copied, so a key such as "__proto__" stays a field instead of becoming a prototype).
const spec = z
  .custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object')
  .superRefine((value, ctx) => {
    const r = knownFields.safeParse(value);
    if (!r.success) for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });

export default defineHandler({
  method: 'PUT',
  path: '/api/commands',
  access: userOnly,
  body: z.object({ commands: z.array(spec).max(COMMANDS_MAX) }),
  keepBodyText: true,
  doc: {
    tag: 'Slash commands',
    summary: "Replace the caller's registered slash commands",
    success: { 200: '{count}' },
    errors: { 403: ['forbidden'], 400: ['bad_request'], 401: ['unauthorized'], 413: ['payload_too_large'], 415: ['unsupported_media_type'] },
  },
  run: async ({ ctx, principal, body, bodyText }) => {
    // Each spec is stored as its JSON text as sent; the parsed spec gives its name and description.
    const specs = withSentText(body.commands as CommandSpec[], bodyText!);
    requireValidCommandSet(specs);
    return { count: await replaceCommands(ctx, principal.userId, specs) };
  },
});
