import { z } from 'zod';
import { badRequest, HttpError } from '../errors.js';

/** JSON bodies are limited to 1 MiB (api.md "Errors"). */
export const JSON_BODY_LIMIT = 1024 * 1024;

const tooLarge = (limit: number) => new HttpError(413, 'payload_too_large', `the body is larger than ${limit} bytes`);

/** Reads the body as text, refusing (413) more than `limit` bytes without buffering past it. */
export async function readTextLimited(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  // A declared length within the limit: let the runtime read it in one go (much cheaper than
  // pulling chunks through a stream reader on the hot path); the cap below is for bodies
  // without a length (chunked).
  if (Number.isFinite(declared)) return request.text();
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

/** zod issues → the `details` list of a 400: one entry per invalid field. */
export function issuesToDetails(error: z.ZodError) {
  return error.issues.map((i) => ({ field: i.path.length ? i.path.join('.') : '(body)', message: i.message }));
}

/** Validates `value` with `schema`, or throws 400 `bad_request` listing every invalid field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, what = 'body'): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw badRequest(`invalid ${what}`, issuesToDetails(r.error));
  return r.data;
}

/**
 * Parses a JSON body and validates it. An empty body counts as `{}` (for endpoints whose
 * fields are all optional); a non-JSON content type → 415; malformed JSON → 400;
 * over 1 MiB → 413. Unknown fields are dropped by the (non-strict) schema.
 *
 * `outranking`: checks whose errors come before the body's in api.md's order (404, 403, 409
 * before 400/413/415). They run only when the body is refused, so a valid body costs nothing.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S, limit = JSON_BODY_LIMIT, outranking?: () => Promise<void>): Promise<z.infer<S>> {
  try {
    return validate(schema, parseJsonText(await readTextLimited(request, limit), request.headers.get('content-type')));
  } catch (err) {
    if (outranking) await outranking();
    throw err;
  }
}

function parseJsonText(text: string, type: string | null): unknown {
  if (text.trim() === '') return {};
  if (type && !/^application\/([\w.+-]*\+)?json\b/i.test(type.trim())) {
    throw new HttpError(415, 'unsupported_media_type', 'the body must be application/json');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest('malformed JSON body');
  }
}

/** Validates the query string (as a plain object of its first values). */
export function readQuery<S extends z.ZodType>(url: URL, schema: S): z.infer<S> {
  return validate(schema, Object.fromEntries(url.searchParams), 'query');
}
