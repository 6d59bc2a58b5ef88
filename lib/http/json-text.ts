/**
 * Reading parts of a JSON text as text, for values that must be kept exactly as sent: a
 * parse and a serialisation lose what JSON.parse cannot hold (1e400, integers beyond 2^53,
 * `1.0`, escapes, the order of integer-like keys). Only for text that JSON.parse accepted:
 * it is scanned, not validated. Iterative and linear: safe on any body the limits let through.
 */

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** The index just past the string that starts (with its quote) at `i`. */
function endOfString(text: string, i: number): number {
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return i;
}

/** The index just past the value that starts at `i`. */
function endOfValue(text: string, i: number): number {
  const first = text[i];
  if (first === '"') return endOfString(text, i);
  if (first !== '{' && first !== '[') {
    while (i < text.length && !',]}'.includes(text[i]) && !isSpace(text.charCodeAt(i))) i++;
    return i;
  }
  let depth = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i = endOfString(text, i);
      continue;
    }
    if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) return i + 1;
    i++;
  }
  return i;
}

/**
 * The [start, end) of each member of the object or each element of the array at `i`, with
 * the member's key (undefined for an array element).
 */
function children(text: string, i: number): { key?: string; start: number; end: number }[] {
  const isObject = text[i] === '{';
  const out: { key?: string; start: number; end: number }[] = [];
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] !== '}' && text[i] !== ']') {
    let key: string | undefined;
    if (isObject) {
      const keyEnd = endOfString(text, i);
      key = JSON.parse(text.slice(i, keyEnd)) as string;
      i = skipSpace(text, skipSpace(text, keyEnd) + 1);
    }
    const end = endOfValue(text, i);
    out.push({ key, start: i, end });
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return out;
}

/**
 * The text of each element of the array under `key` of the JSON object `text` (the last such
 * member, as JSON.parse keeps the last of duplicate keys); null when there is no such array.
 */
export function arrayElementTexts(text: string, key: string): string[] | null {
  const start = skipSpace(text, 0);
  if (text[start] !== '{') return null;
  const member = children(text, start).findLast((m) => m.key === key);
  if (!member || text[member.start] !== '[') return null;
  return children(text, member.start).map((e) => text.slice(e.start, e.end));
}

/** `text` without the whitespace between its tokens (strings are left as they are). */
export function compactJson(text: string): string {
  let out = '';
  let from = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) i = endOfString(text, i);
    else if (isSpace(c)) {
      out += text.slice(from, i);
      i = skipSpace(text, i);
      from = i;
    } else i++;
  }
  return out + text.slice(from);
}
