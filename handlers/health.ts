/**
 * GET /api/health — liveness. No auth. 200 {status, nodeId, version}.
 */
import { defineHandler } from '../lib/http/handler.js';

export default defineHandler({ method: 'GET', path: '/api/health', auth: false }, async ({ ctx }) => ({
  status: 'ok',
  nodeId: ctx.config.nodeId,
  version: ctx.version,
}));
