/**
 * GET /api/ready — readiness. No auth. 200 {status: "ready"}; 503 db_unavailable when the database does not answer.
 */
import { pingDatabase } from '../lib/db/index.js';
import { HttpError } from '../lib/errors.js';
import { open } from '../lib/http/access-policy.js';
import { defineHandler } from '../lib/http/handler.js';

export default defineHandler({
  method: 'GET',
  path: '/api/ready',
  access: open,
  doc: {
    tag: 'Health',
    summary: 'Readiness: the database answers',
    success: { 200: '{status: "ready"}' },
    errors: { 503: ['db_unavailable'] },
  },
  run: async ({ ctx }) => {
    if (!(await pingDatabase(ctx.database.db))) throw new HttpError(503, 'db_unavailable', 'the database is unreachable');
    return { status: 'ready' };
  },
});
