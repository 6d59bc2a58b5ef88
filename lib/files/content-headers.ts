/**
 * What a download says about its bytes (api.md "Files"): the served type, the disposition
 * and the validators. Pure; a browser must never run an uploaded file as active content
 * on the node's origin.
 */

/** Types a browser would execute or render as a document with scripts: never served as themselves. */
export function isActiveType(mime: string): boolean {
  const m = mime.toLowerCase();
  const [type, subtype = ''] = m.split('/');
  if (subtype === 'xml' || subtype.endsWith('+xml')) return true; // html-like documents, svg, xhtml, xslt, rss…
  if (/(java|ecma)script|x-shockwave-flash|x-mixed-replace|vnd\.wap\.wml/.test(subtype)) return true;
  if (type === 'multipart') return true;
  return m === 'text/html' || m === 'text/xsl' || m === 'text/cache-manifest';
}

/** Shown in the browser (images, audio, video, PDF); everything else is downloaded. */
export function isInlineType(mime: string): boolean {
  if (isActiveType(mime)) return false;
  const m = mime.toLowerCase();
  return /^(image|audio|video)\//.test(m) || m === 'application/pdf';
}

/** The Content-Type to send: the stored one, or application/octet-stream for active types. */
export const servedContentType = (mime: string) => (isActiveType(mime) ? 'application/octet-stream' : mime);

// RFC 8187 attr-char: everything else in filename* is percent-encoded.
const ATTR_CHAR = /[A-Za-z0-9!#$&+\-.^_`|~]/;

/** Percent-encodes a name as RFC 8187 ext-value characters (UTF-8). */
function encodeExtValue(name: string): string {
  let out = '';
  for (const ch of name) {
    if (ATTR_CHAR.test(ch)) out += ch;
    else for (const byte of Buffer.from(ch, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * `Content-Disposition` per RFC 6266: an ASCII `filename` fallback for old clients and
 * `filename*=UTF-8''…` with the exact name.
 */
export function contentDisposition(name: string, inline: boolean): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_') || 'file';
  return `${inline ? 'inline' : 'attachment'}; filename="${fallback}"; filename*=UTF-8''${encodeExtValue(name || 'file')}`;
}

/** The strong ETag of a file's bytes. */
export const etagOf = (sha256: string) => `"${sha256}"`;

/** True when an `If-None-Match` value matches `etag` (weak comparison, `*` matches anything). */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (!header) return false;
  const bare = etag.replace(/^W\//, '');
  return header.split(',').some((t) => {
    const v = t.trim();
    return v === '*' || v.replace(/^W\//, '') === bare;
  });
}

/** True when an `If-Range` value still names these bytes (strong comparison; dates are not used). */
export const ifRangeHolds = (header: string | null, etag: string) => header === null || header.trim() === etag;
