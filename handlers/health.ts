/**
 * GET /api/health — liveness. No auth. 200 {status, nodeId, version}.
 */
import { open } from '../lib/http/access-policy.js';
import { defineHandler } from '../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/health',
  access: open,
  doc: {
    tag: 'Health',
    summary: 'Liveness',
    success: { 200: '{status, nodeId, version}' },
    errors: {},
  },
  run: async ({ ctx }) => ({ status: 'ok', nodeId: ctx.config.nodeId, version: ctx.version }),
});
