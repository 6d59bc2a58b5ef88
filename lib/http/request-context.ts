/**
 * The request being answered, for whoever needs it below the pipeline (the error renderer,
 * later a logger): its id, carried through async calls with AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

interface RequestContext {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** A client's own id is kept when it is 1–128 visible ASCII characters (api.md "Errors"). */
const CLIENT_ID = /^[\x21-\x7e]{1,128}$/;

/** The id of a request: its `x-request-id` header when acceptable, else a new one. */
export function requestIdFor(headers: Headers): string {
  const given = headers.get('x-request-id');
  return given !== null && CLIENT_ID.test(given) ? given : randomUUID();
}

/** Runs `fn` as the handling of the request with id `requestId`. */
export const runWithRequestId = <T>(requestId: string, fn: () => T): T => storage.run({ requestId }, fn);

/** The id of the request being answered, if any. */
export const currentRequestId = (): string | undefined => storage.getStore()?.requestId;
