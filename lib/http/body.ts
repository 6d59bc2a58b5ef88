import { z } from 'zod';
import { badRequest, HttpError, MAX_ERROR_DETAILS } from '../errors.js';
import { createLogger } from '../logger.js';
import { requireUncodedBody } from './content-coding.js';
import { refuseOversizedArrays, requireJsonBounds, type JsonLimits } from './json-bounds.js';

const log = createLogger('http');

/** JSON bodies are limited to 1 MiB (api.md "Errors"). */
export const JSON_BODY_LIMIT = 1024 * 1024;

const tooLarge = (limit: number) => new HttpError(413, 'payload_too_large', `the body is larger than ${limit} bytes`);

/**
 * Reads the body as text, refusing (413) more than `limit` bytes without buffering past it,
 * and (415) a body with a content coding before reading any of it. A body that stops
 * arriving (the client went away mid-body) is a 400 nobody will read, logged at debug: a
 * client can end its own request whenever it likes.
 */
export async function readTextLimited(request: Request, limit: number): Promise<string> {
  requireUncodedBody(request.headers);
  try {
    return await readText(request, limit);
  } catch (err) {
    if (err instanceof HttpError) throw err;
    log.debug('request body not received', { error: err instanceof Error ? err.message : String(err) });
    throw badRequest('the request body was not received completely');
  }
}

/** Not async on the hot path: a declared length hands back the runtime's own promise (no extra hops). */
function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  // A declared length within the limit: let the runtime read it in one go (much cheaper than
  // pulling chunks through a stream reader on the hot path); the cap below is for bodies
  // without a length (chunked).
  if (Number.isFinite(declared)) return request.text();
  return readChunked(request, limit);
}

async function readChunked(request: Request, limit: number): Promise<string> {
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * zod issues → the `details` list of a 400: one entry per invalid field (its first issue: zod
 * may report one value twice, as `int()`'s safe range and `max()` do), at most MAX_ERROR_DETAILS.
 */
export function issuesToDetails(error: z.ZodError) {
  const details = new Map<string, { field: string; message: string }>();
  for (const issue of error.issues) {
    const field = issue.path.length ? issue.path.join('.') : '(body)';
    if (!details.has(field)) details.set(field, { field, message: issue.message });
    if (details.size === MAX_ERROR_DETAILS) break;
  }
  return [...details.values()];
}

/**
 * Validates `value` with `schema`, or throws 400 `bad_request` listing the invalid fields
 * (at most MAX_ERROR_DETAILS). An array longer than its schema allows is refused on its
 * length, before any element is looked at.
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  refuseOversizedArrays(schema, value);
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(`invalid ${what}`, issuesToDetails(r.error));
  return r.data;
}

/**
 * Parses a JSON body and validates it. An empty body counts as `{}` (for endpoints whose
 * fields are all optional); a non-JSON content type, a charset other than UTF-8 or a
 * content coding (gzip…) → 415; malformed JSON → 400;
 * over 1 MiB → 413; nested deeper than 32 levels → 400; more than 100,000 values → 413
 * (lib/http/json-bounds.ts). Unknown fields are dropped by the (non-strict) schema.
 *
 * `outranking`: checks whose errors come before the body's in api.md's order (404, 403, 409
 * before 400/413/415). They run only when the body is refused, so a valid body costs nothing.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S, limit = JSON_BODY_LIMIT, outranking?: () => Promise<void>): Promise<z.infer<S>> {
  try {
    return validate(schema, await readJsonValue(request, limit));
  } catch (err) {
    if (outranking) await outranking();
    throw err;
  }
}

/** The JSON body as a value, not yet validated (the same 413/415/400 as `readJson`; an empty body is `{}`). */
export async function readJsonValue(request: Request, limit = JSON_BODY_LIMIT): Promise<unknown> {
  return parseJsonText(await readTextLimited(request, limit), request.headers.get('content-type'));
}

/** The JSON body as `readJsonValue` reads it, with the text it was parsed from (for values that must be kept as sent). */
export async function readJsonBody(request: Request, limit = JSON_BODY_LIMIT): Promise<{ text: string; value: unknown }> {
  const text = await readTextLimited(request, limit);
  return { text, value: parseJsonText(text, request.headers.get('content-type')) };
}

/** Parses JSON text within `limits` (depth, number of values): 400 when malformed or too deep, 413 when too many values. */
export function parseBoundedJson(text: string, limits?: JsonLimits): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest('malformed JSON body');
  }
  requireJsonBounds(value, limits);
  return value;
}

const JSON_TYPE = /^application\/([\w.+-]*\+)?json\b/i;
/** The charset parameter of a content type, quoted or not. */
const CHARSET = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i;
/** UTF-8 by its name and its common alias (WHATWG Encoding labels both so). */
const UTF8 = /^utf-?8$/i;

/** 415 unless `type` is JSON in UTF-8 (a charset parameter, if any, naming UTF-8): the text was read as UTF-8. */
function requireJsonType(type: string): void {
  if (!JSON_TYPE.test(type.trim())) throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json');
  const charset = CHARSET.exec(type)?.[2];
  if (charset !== undefined && !UTF8.test(charset)) {
    throw new HttpError(415, 'unsupported_media_type', 'the body must be UTF-8: application/json with charset=utf-8 or no charset');
  }
}

function parseJsonText(text: string, type: string | null): unknown {
  if (text.trim() === '') return {};
  if (type) requireJsonType(type);
  return parseBoundedJson(text);
}

/** Validates the query string (as a plain object of its first values: `?limit=1&limit=100` is a limit of 1). */
export function readQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  const first = new Map<string, string>();
  for (const [name, value] of url.searchParams) if (!first.has(name)) first.set(name, value);
  return validate(schema, Object.fromEntries(first), 'query');
}
