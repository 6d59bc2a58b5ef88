/**
 * GET /api/health — liveness. No auth. 200 {status, nodeId, version}.
 */
import { defineHandler } from '../lib/http/handler.js';
import type { RouteDoc } from '../lib/http/route-doc.js';

const doc: RouteDoc = {
  tag: 'Health',
  summary: 'Liveness',
  success: { 200: '{status, nodeId, version}' },
  errors: {  },
};

export default defineHandler({ method: 'GET', path: '/api/health', auth: false, doc }, async ({ ctx }) => ({
  status: 'ok',
  nodeId: ctx.config.nodeId,
  version: ctx.version,
}));
