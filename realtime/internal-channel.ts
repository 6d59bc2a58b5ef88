import { timingSafeEqual } from 'node:crypto';
import { HttpError } from '../lib/errors.js';
import { readTextLimited } from '../lib/http/body.js';
import { errorResponse, json } from '../lib/http/respond.js';
import { emitBatchSchema, roomLeaveSchema } from '../lib/realtime/emitter.js';
import { dispatchEmits, leaveChannelRooms } from './dispatch.js';
import type { RealtimeNamespace } from './app.js';

const BODY_LIMIT = 32 * 1024 * 1024;

const sameSecret = (given: string, secret: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
};

/**
 * The internal emit channel of a realtime process (realtime.md, split mode), as a fetch
 * handler: `POST /internal/emit` and `POST /internal/rooms/leave`, Bearer = the shared secret.
 */
export function createInternalChannel(nsp: RealtimeNamespace, secret: string) {
  return async function fetch(request: Request): Promise<Response> {
    try {
      const path = new URL(request.url).pathname;
      if (request.method !== 'POST' || (path !== '/internal/emit' && path !== '/internal/rooms/leave')) {
        throw new HttpError(404, 'not_found', 'no such endpoint');
      }
      const m = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
      if (!m || !sameSecret(m[1], secret)) throw new HttpError(401, 'unauthorized', 'wrong or missing internal secret');
      let body: unknown;
      try {
        body = JSON.parse(await readTextLimited(request, BODY_LIMIT));
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(400, 'bad_request', 'malformed JSON body');
      }
      if (path === '/internal/emit') {
        const parsed = emitBatchSchema.safeParse(body);
        if (!parsed.success) throw new HttpError(400, 'bad_request', 'malformed emit batch');
        dispatchEmits(nsp as never, parsed.data.emits);
      } else {
        const parsed = roomLeaveSchema.safeParse(body);
        if (!parsed.success) throw new HttpError(400, 'bad_request', 'expected {userId, channelId}');
        leaveChannelRooms(nsp as never, parsed.data.userId, parsed.data.channelId);
      }
      return json({ ok: true }, 202);
    } catch (err) {
      return errorResponse(err, request);
    }
  };
}
