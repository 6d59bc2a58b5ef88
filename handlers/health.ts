/**
 * GET /api/health — liveness. No auth. 200 {status, nodeId, version}, also while the database is
 * away (hosted alone it opens none).
 */
import { open } from '../lib/http/access-policy.js';
import { defineHandler } from '../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/health',
  access: open,
  withoutDatabase: true,
  doc: {
    tag: 'Health',
    summary: 'Liveness',
    success: { 200: '{status, nodeId, version}' },
    errors: {},
  },
  run: async ({ ctx }) => ({ status: 'ok', nodeId: ctx.config.nodeId, version: ctx.version }),
});
