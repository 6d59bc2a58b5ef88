import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { HttpError } from '../lib/errors.js';
import { parseBoundedJson, readTextLimited } from '../lib/http/body.js';
import { MAX_JSON_DEPTH, refuseOversizedArrays } from '../lib/http/json-bounds.js';
import { requestIdFor, runWithRequestId } from '../lib/http/request-context.js';
import { createLogger } from '../lib/logger.js';
import { errorResponse, json, withHeaders } from '../lib/http/respond.js';
import { INTERNAL_BODY_LIMIT } from '../lib/realtime/emitter.js';
import { emitBatchSchema, guildRoomSchema, opBatchSchema, roomLeaveSchema } from '../lib/realtime/internal-schemas.js';
import { presenceQuerySchema, type PresenceSource } from '../lib/realtime/presence.js';
import type { OpsSink } from './dispatch.js';

/** What the internal channel acts on: the realtime app (room changes and emits, presence queries). */
export type InternalTarget = OpsSink & PresenceSource;

const log = createLogger('internal');

/** The ids of the API requests whose emits a call carries (stamped by lib/realtime/http-emitter.ts), each once. */
function requestIdsOf(body: { emits?: { requestId?: string }[]; ops?: ({ emit?: { requestId?: string } } | object)[] }): string[] {
  const ids = new Set<string>();
  for (const e of body.emits ?? []) if (e.requestId) ids.add(e.requestId);
  for (const op of body.ops ?? []) if ('emit' in op && op.emit?.requestId) ids.add(op.emit.requestId);
  return [...ids];
}

const sameSecret = (given: string, secret: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
};

interface InternalRoute<S extends z.ZodType> {
  schema: S;
  /** Applied before the 202 answer; a route that returns an answer (a query) is answered 200 with it. */
  run(app: InternalTarget, body: z.infer<S>): void | Promise<object>;
}
const route = <S extends z.ZodType>(r: InternalRoute<S>) => r as InternalRoute<z.ZodType>;

/**
 * Each event's `data` may nest as deep as a REST body (32 levels) under the call's own
 * envelope (`{ops: [{emit: {data: …}}]}`, 4 levels). The number of values is bounded by the
 * body limit and MAX_ENTRIES_PER_CALL rather than counted: a call carries thousands of events.
 */
const INTERNAL_JSON_LIMITS = { maxDepth: MAX_JSON_DEPTH + 4, maxValues: Infinity };

/** Every internal call, by path; each body is validated with the same schema the API side builds it with. */
const ROUTES: Record<string, InternalRoute<z.ZodType>> = {
  '/internal/emit': route({ schema: emitBatchSchema, run: (app, b) => app.apply(b.emits.map((emit) => ({ emit }))) }),
  '/internal/rooms/leave': route({ schema: roomLeaveSchema, run: (app, b) => app.apply([{ leave: b }]) }),
  '/internal/rooms/guild': route({ schema: guildRoomSchema, run: (app, b) => app.apply([{ guild: b }]) }),
  '/internal/batch': route({ schema: opBatchSchema, run: (app, b) => app.apply(b.ops) }),
  '/internal/presence': route({ schema: presenceQuerySchema, run: async (app, b) => ({ online: await app.onlineAmong(b.userIds) }) }),
};

/**
 * The internal channel of a realtime process (realtime.md, split mode), as a fetch handler:
 * `POST /internal/emit`, `POST /internal/rooms/leave`, `POST /internal/rooms/guild`
 * (sockets of a user added to / removed from a guild), `POST /internal/batch` (emits and
 * room changes in one ordered list) and `POST /internal/presence` ({userIds} → 200 {online}:
 * who of them holds a socket on the node), Bearer = the shared secret. 202 on success.
 */
export function createInternalChannel(app: InternalTarget, secret: string) {
  return (request: Request): Promise<Response> => {
    const requestId = requestIdFor(request.headers);
    return runWithRequestId(requestId, async () => withHeaders(await answer(request), { 'x-request-id': requestId }));
  };

  async function answer(request: Request): Promise<Response> {
    try {
      if (!URL.canParse(request.url)) throw new HttpError(400, 'bad_request', 'malformed request target');
      const path = new URL(request.url).pathname;
      const target = request.method === 'POST' ? ROUTES[path] : undefined;
      if (!target) throw new HttpError(404, 'not_found', 'no such endpoint');
      const m = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
      if (!m || !sameSecret(m[1], secret)) throw new HttpError(401, 'unauthorized', 'wrong or missing internal secret');
      const body = parseBoundedJson(await readTextLimited(request, INTERNAL_BODY_LIMIT), INTERNAL_JSON_LIMITS);
      refuseOversizedArrays(target.schema, body);
      const parsed = target.schema.safeParse(body);
      if (!parsed.success) throw new HttpError(400, 'bad_request', `malformed body for ${path}`);
      // A call carries what several API requests produced: its line names them all; a call of
      // one request runs as that request, so every line it causes carries that request's id.
      const requestIds = requestIdsOf(parsed.data as never);
      const apply = async () => {
        const result = await target.run(app, parsed.data);
        log.debug('internal call applied', { path, ...(requestIds.length > 1 ? { requestIds } : {}) });
        return result;
      };
      const result = requestIds.length === 1 ? await runWithRequestId(requestIds[0], apply) : await apply();
      return result ? json(result, 200) : json({ ok: true }, 202);
    } catch (err) {
      return errorResponse(err, request);
    }
  }
}
