/**
 * The client's file name and type, cleaned before they are kept as metadata. Neither ever
 * reaches the filesystem: bytes are stored under a generated name.
 */

/** Longest name kept, in characters (the `name` columns are varchar(255)). */
export const FILE_NAME_MAX = 255;
const FALLBACK_NAME = 'file';

/**
 * The last path segment of the client's name, without control characters, trimmed, at most
 * 255 characters (keeping the extension when it has to cut); `file` when nothing is left.
 */
export function sanitizeFileName(raw: string | null | undefined): string {
  if (!raw) return FALLBACK_NAME;
  const base = raw.split(/[/\\]/).pop() ?? '';
  // Control and bidi-override characters can disguise a name ("evil\u202Egpj.exe").
  // eslint-disable-next-line no-control-regex -- control characters are what this removes
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '').trim();
  if (clean === '' || /^\.+$/.test(clean)) return FALLBACK_NAME;
  const chars = [...clean];
  if (chars.length <= FILE_NAME_MAX) return clean;
  const dot = clean.lastIndexOf('.');
  const ext = dot > 0 ? [...clean.slice(dot)] : [];
  if (ext.length > 0 && ext.length <= 16) return chars.slice(0, FILE_NAME_MAX - ext.length).join('') + ext.join('');
  return chars.slice(0, FILE_NAME_MAX).join('');
}

const TOKEN = "[a-z0-9!#$%&'*+.^_`|~-]+";
const ESSENCE = new RegExp(`^${TOKEN}/${TOKEN}$`);

/** The media type essence (`type/subtype`, lower case, parameters dropped), or application/octet-stream. */
export function normalizeMime(raw: string | null | undefined): string {
  const essence = (raw ?? '').split(';')[0].trim().toLowerCase();
  return essence.length <= 255 && ESSENCE.test(essence) ? essence : 'application/octet-stream';
}
