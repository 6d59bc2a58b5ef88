/**
 * PUT /api/channels/:channelId/turn — {order, bypass} replaces both lists → 200 {turn}; turn.updated
 * (reason `order`) when the state changed. Who: the channel's creator, guild owner/admin, guild token.
 * Errors: 400 bad_request (overlapping lists, duplicates) / invalid_reference (not a channel member) /
 * wrong_channel_type, 401, 403, 404.
 */
import { z } from 'zod';
import { channelAdmin } from '../../lib/channels/channel-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';
import { requireTurnChannel, setTurnLists, turnActorOf } from '../../lib/turns/turn-commands.js';
import { userIdSchema } from '../../lib/validation.js';

/** A channel's lists are bounded by its members; the cap keeps the membership query within every database's parameter limit. */
const MAX_LIST = 1000;
const list = z.array(userIdSchema).max(MAX_LIST);

export default defineHandler({
  method: 'PUT',
  path: '/api/channels/:channelId/turn',
  access: channelAdmin,
  body: z.object({ order: list, bypass: list }).superRefine((b, ctx) => {
    for (const key of ['order', 'bypass'] as const) {
      const dupes = b[key].filter((u, i) => b[key].indexOf(u) !== i);
      if (dupes.length > 0) ctx.addIssue({ code: 'custom', path: [key], message: `duplicate ids: ${[...new Set(dupes)].join(', ')}` });
    }
    const both = b.order.filter((u) => b.bypass.includes(u));
    if (both.length > 0) ctx.addIssue({ code: 'custom', path: ['bypass'], message: `ids also in order: ${[...new Set(both)].join(', ')}` });
  }),
  doc: {
    tag: 'Turn engine',
    summary: 'Replace the turn order and bypass lists',
    success: { 200: '{turn}' },
    errors: { 400: ['bad_request', 'wrong_channel_type', 'invalid_reference'], 401: ['unauthorized'], 403: ['forbidden'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, access: view, body }) => {
    const channel = requireTurnChannel(view.channel);
    return { turn: await setTurnLists(ctx, channel, turnActorOf(principal), body.order, body.bypass) };
  },
});
