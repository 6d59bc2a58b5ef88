import { timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';
import { HttpError } from '../lib/errors.js';
import { readTextLimited } from '../lib/http/body.js';
import { errorResponse, json } from '../lib/http/respond.js';
import { emitBatchSchema, guildRoomSchema, INTERNAL_BODY_LIMIT, opBatchSchema, roomLeaveSchema } from '../lib/realtime/emitter.js';
import type { OpsSink } from './dispatch.js';

const sameSecret = (given: string, secret: string) => {
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
};

interface InternalRoute<S extends z.ZodType> {
  schema: S;
  run(sink: OpsSink, body: z.infer<S>): void;
}
const route = <S extends z.ZodType>(r: InternalRoute<S>) => r as InternalRoute<z.ZodType>;

/** Every internal call, by path; each body is validated with the same schema the API side builds it with. */
const ROUTES: Record<string, InternalRoute<z.ZodType>> = {
  '/internal/emit': route({ schema: emitBatchSchema, run: (sink, b) => sink.apply(b.emits.map((emit) => ({ emit }))) }),
  '/internal/rooms/leave': route({ schema: roomLeaveSchema, run: (sink, b) => sink.apply([{ leave: b }]) }),
  '/internal/rooms/guild': route({ schema: guildRoomSchema, run: (sink, b) => sink.apply([{ guild: b }]) }),
  '/internal/batch': route({ schema: opBatchSchema, run: (sink, b) => sink.apply(b.ops) }),
};

/**
 * The internal channel of a realtime process (realtime.md, split mode), as a fetch handler:
 * `POST /internal/emit`, `POST /internal/rooms/leave`, `POST /internal/rooms/guild`
 * (sockets of a user added to / removed from a guild) and `POST /internal/batch` (emits and
 * room changes in one ordered list), Bearer = the shared secret. 202 on success.
 */
export function createInternalChannel(sink: OpsSink, secret: string) {
  return async function fetch(request: Request): Promise<Response> {
    try {
      const path = new URL(request.url).pathname;
      const target = request.method === 'POST' ? ROUTES[path] : undefined;
      if (!target) throw new HttpError(404, 'not_found', 'no such endpoint');
      const m = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '');
      if (!m || !sameSecret(m[1], secret)) throw new HttpError(401, 'unauthorized', 'wrong or missing internal secret');
      let body: unknown;
      try {
        body = JSON.parse(await readTextLimited(request, INTERNAL_BODY_LIMIT));
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(400, 'bad_request', 'malformed JSON body');
      }
      const parsed = target.schema.safeParse(body);
      if (!parsed.success) throw new HttpError(400, 'bad_request', `malformed body for ${path}`);
      target.run(sink, parsed.data);
      return json({ ok: true }, 202);
    } catch (err) {
      return errorResponse(err, request);
    }
  };
}
