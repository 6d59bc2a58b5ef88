import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * The id of the REST request (or internal call) being served, kept across awaits so every
 * log line it causes can carry it without passing it down by hand.
 */
const storage = new AsyncLocalStorage<string>();

/** Runs `fn` with `id` as the current request id. */
export function runWithRequestId<T>(id: string, fn: () => T): T {
  return storage.run(id, fn);
}

/** The id of the request being served here, if any. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}

const CLIENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's `x-request-id` when it is a sane token (letters, digits, `._:-`, ≤ 128), else a new UUID. */
export function requestIdOf(request: Request): string {
  const given = request.headers.get('x-request-id');
  return given && CLIENT_ID.test(given) ? given : randomUUID();
}
