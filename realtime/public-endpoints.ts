import type { AppContext } from '../lib/context.js';
import { pingDatabase } from '../lib/db/index.js';
import { HttpError } from '../lib/errors.js';
import { errorResponse, json } from '../lib/http/respond.js';
import type { ClusterLink } from './cluster.js';

/**
 * What a realtime process answers over plain HTTP on its public port, beside socket.io:
 * `GET /health` (the process is up) and `GET /ready` (it can serve: the database answers),
 * the shapes of the API's `/api/health` and `/api/ready`. Anything else is 404.
 */
export function createRealtimeEndpoints(ctx: AppContext, cluster?: ClusterLink) {
  return async function fetch(request: Request): Promise<Response> {
    try {
      const path = new URL(request.url).pathname;
      if (request.method === 'GET' && path === '/health') {
        return json({ status: 'ok', nodeId: ctx.config.nodeId, version: ctx.version, role: 'realtime', cluster: cluster ? cluster.isConnected() : null });
      }
      if (request.method === 'GET' && path === '/ready') {
        if (!(await pingDatabase(ctx.database.db))) throw new HttpError(503, 'db_unavailable', 'the database is unreachable');
        return json({ status: 'ready' });
      }
      throw new HttpError(404, 'not_found', 'no such endpoint');
    } catch (err) {
      return errorResponse(err, request);
    }
  };
}
