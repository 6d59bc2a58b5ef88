/**
 * Request bodies are read as sent: the node decodes no content coding. A body sent with a
 * `Content-Encoding` other than `identity` (gzip, br, deflate…) would be read as if it were
 * plain, so it is refused with 415 (api.md "Errors") before a byte of it is read. Shared by the
 * JSON reader (lib/http/body.ts) and uploads (lib/files/multipart.ts), so it imports nothing heavy.
 */
import { HttpError } from '../errors.js';

/** Whether a `Content-Encoding` value names no coding but `identity` (a list, RFC 9110 §8.4). */
const isIdentity = (value: string) =>
  value.split(',').every((coding) => {
    const c = coding.trim().toLowerCase();
    return c === '' || c === 'identity';
  });

/** Throws 415 `unsupported_media_type` when the body has a content coding; the answer's `Accept-Encoding: identity` says what is taken (RFC 9110 §15.5.16). */
export function requireUncodedBody(headers: Headers): void {
  const coding = headers.get('content-encoding');
  if (coding === null || isIdentity(coding)) return;
  throw new HttpError(415, 'unsupported_media_type', 'the body must be sent uncompressed: no Content-Encoding other than identity is accepted', undefined, {
    'accept-encoding': 'identity',
  });
}
