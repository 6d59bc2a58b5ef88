/**
 * GET /api/channels/:channelId/messages?before=&after=&limit= — a page of history, ascending seq.
 * Who: readers of the channel. 200 {messages, hasMore}. Neither bound: the latest `limit`; `after`: the first
 * `limit` above it (resync); `before`: the last `limit` below it. `limit` 1–100, default 50.
 * Errors: 400 (both bounds, bad numbers), 401, 404.
 */
import { z } from 'zod';
import { requireReadableChannel } from '../../lib/guilds/standing.js';
import { readQuery } from '../../lib/http/body.js';
import { defineHandler } from '../../lib/http/handler.js';
import type { RouteDoc } from '../../lib/http/route-doc.js';
import { listMessagePage } from '../../lib/messages/message-queries.js';

const seq = z.string().regex(/^\d{1,15}$/, 'must be a seq (a non-negative integer)').transform(Number);
const query = z
  .object({
    before: seq.optional(),
    after: seq.optional(),
    limit: z.string().regex(/^\d{1,4}$/, 'must be an integer from 1 to 100').transform(Number).pipe(z.number().min(1).max(100)).default(50),
  })
  .refine((q) => q.before === undefined || q.after === undefined, { path: ['before'], message: 'before and after cannot be combined' });

const doc: RouteDoc = {
  tag: 'Messages',
  summary: 'A page of history, ascending seq',
  who: 'readers of the channel',
  query,
  success: { 200: '{messages, hasMore}' },
  errors: { 400: ['bad_request'], 401: ['unauthorized'], 404: ['not_found'] },
};

export default defineHandler({ method: 'GET', path: '/api/channels/:channelId/messages', doc }, async ({ url, ctx, principal, params }) => {
  const { db } = ctx.database;
  const view = await requireReadableChannel(db, principal, params.channelId);
  const page = readQuery(url, query);
  return listMessagePage(db, view.channel.id, page);
});
