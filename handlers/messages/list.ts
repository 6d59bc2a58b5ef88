/**
 * GET /api/channels/:channelId/messages?before=&after=&limit= — a page of history, ascending seq.
 * Who: readers of the channel. 200 {messages, hasMore}. Neither bound: the latest `limit`; `after`: the first
 * `limit` above it (resync); `before`: the last `limit` below it. `limit` 1–100, default 50.
 * Errors: 400 (both bounds, bad numbers), 401, 404.
 */
import { z } from 'zod';
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { defineHandler } from '../../lib/http/handler.js';
import { listMessagePage } from '../../lib/messages/message-queries.js';

const seq = z
  .string()
  .regex(/^\d{1,15}$/, 'must be a seq (a non-negative integer)')
  .transform(Number);

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId/messages',
  access: channelReader,
  query: z
    .object({
      before: seq.optional(),
      after: seq.optional(),
      limit: z
        .string()
        .regex(/^\d{1,4}$/, 'must be an integer from 1 to 100')
        .transform(Number)
        .pipe(z.number().min(1).max(100))
        .default(50),
    })
    .refine((q) => q.before === undefined || q.after === undefined, { path: ['before'], message: 'before and after cannot be combined' }),
  doc: {
    tag: 'Messages',
    summary: 'A page of history, ascending seq',
    success: { 200: '{messages, hasMore}' },
    errors: { 400: ['bad_request'], 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, access: view, query }) => listMessagePage(ctx.database.db, view.channel.id, query),
});
