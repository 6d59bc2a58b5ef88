/**
 * GET /api/channels/:channelId — one channel, with the caller's readSeq and unreadCount (null for a guild token).
 * Who: its readers (api.md "Who sees what"). 200 {channel}. Errors: 401, 404.
 */
import { channelReader } from '../../lib/channels/channel-access-policies.js';
import { loadChannel } from '../../lib/channels/channel-shape.js';
import { loadReadState, NO_READ_STATE } from '../../lib/channels/read-positions.js';
import { defineHandler } from '../../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/channels/:channelId',
  access: channelReader,
  doc: {
    tag: 'Channels',
    summary: "One channel, with the caller's readSeq and unreadCount",
    success: { 200: '{channel}' },
    errors: { 401: ['unauthorized'], 404: ['not_found'] },
  },
  run: async ({ ctx, principal, params }) => {
    const { db } = ctx.database;
    const [channel, readState] = await Promise.all([
      loadChannel(db, params.channelId),
      principal.kind === 'user' ? loadReadState(db, params.channelId, principal.userId) : NO_READ_STATE,
    ]);
    return { channel: { ...channel, ...readState } };
  },
});
