/**
 * Mentions in message content (api.md "Messages", Mentions). Pure: no app imports.
 *
 * One scanner (`splitCode`) decides what is code; the mention functions only ever look at
 * the non-code segments, so the code rules exist once.
 *
 * Where the spec is silent, this module decides (CommonMark-like, so what a client renders
 * as code is what we treat as code):
 * - Lines end at `\n`; a `\r` before it counts as trailing whitespace of a closing fence.
 * - Fence lines (opening and closing) may be indented by up to 3 spaces (not tabs).
 * - A backtick fence's info string may not contain a backtick (so "```js```" on one line is
 *   an inline span, not an unclosed fence); a tilde fence's info string may contain anything.
 * - Fenced blocks are found first; inline spans never cross a fenced block (a fence line
 *   interrupts an open inline span, as in CommonMark).
 * - Inline spans may cross line breaks. Backslash escapes are not recognised.
 * - Mentions are matched left to right without overlap, one token grammar for both forms:
 *   the `<@…>` inside an unmatched-or-unknown `<@user.name:…>` token is not a separate mention.
 * - The `user.name:` prefix is case-sensitive; "line break" means `\n` or `\r`.
 * - The lengths (ID 1–128, NAME 1–64) count code points, as every character limit of api.md
 *   does: the patterns carry the `u` flag, so an emoji is one character, not two UTF-16 units.
 */

/** A piece of content: `code` pieces are inline spans or fenced blocks, delimiters included. */
export interface ContentSegment {
  text: string;
  code: boolean;
}

/**
 * Splits content into alternating code / non-code segments (never two adjacent of the same
 * kind, never empty); joining the texts gives back the content. Linear time.
 */
export function splitCode(content: string): ContentSegment[] {
  const out: ContentSegment[] = [];
  const push = (from: number, to: number, code: boolean) => {
    if (to <= from) return;
    const text = content.slice(from, to);
    const last = out[out.length - 1];
    if (last && last.code === code) last.text += text;
    else out.push({ text, code });
  };

  // Block pass: every line is examined once, either as a possible opening fence or as a
  // possible closing fence of the block it is in.
  let regionStart = 0; // start of the current non-fenced region
  let pos = 0; // start of the current line
  while (pos < content.length) {
    const lineEnd = endOfLine(content, pos);
    const fence = openingFence(content, pos, lineEnd);
    if (!fence) {
      pos = lineEnd + 1;
      continue;
    }
    let blockEnd = content.length; // unclosed: runs to the end of the text
    let p = lineEnd + 1;
    while (p < content.length) {
      const e = endOfLine(content, p);
      if (isClosingFence(content, p, e, fence)) {
        blockEnd = e; // the line break after the closing fence stays text
        break;
      }
      p = e + 1;
    }
    splitInline(content, regionStart, pos, push);
    push(pos, blockEnd, true);
    regionStart = blockEnd;
    pos = blockEnd + 1;
  }
  splitInline(content, regionStart, content.length, push);
  return out;
}

/** Ids of `<@ID>` mentions outside code, once each, in order of first appearance. */
export function extractMentions(content: string): string[] {
  const ids = new Set<string>();
  for (const m of scanMentions(content)) if (m.kind === 'id') ids.add(m.value);
  return [...ids];
}

/** NAMEs of `<@user.name:NAME>` outside code, once each, in order. */
export function findNameMentions(content: string): string[] {
  const names = new Set<string>();
  for (const m of scanMentions(content)) if (m.kind === 'name') names.add(m.value);
  return [...names];
}

/** Replaces `<@user.name:NAME>` outside code by `<@ID>` for names in `ids`; unknown names stay as text; code untouched. */
export function replaceNameMentions(content: string, ids: ReadonlyMap<string, string>): string {
  return splitCode(content)
    .map((segment) =>
      segment.code
        ? segment.text
        : segment.text.replace(MENTION, (token: string, name: string | undefined) => {
            if (name === undefined) return token;
            const id = ids.get(name);
            // Only ids that read back as a mention; a backtick could change what is code.
            return id !== undefined && isReplacementId(id) ? `<@${id}>` : token;
          }),
    )
    .join('');
}

// --- internals -------------------------------------------------------------------------

/**
 * Both mention forms as one token grammar. Quantifiers are bounded (64 / 128 code points), so
 * matching stays linear in the text even on pathological input such as thousands of `<@`.
 * Group 1: NAME of `<@user.name:NAME>`; group 2: ID of `<@ID>`.
 */
const MENTION = /<@(?:user\.name:([^>\r\n]{1,64})|(?!user\.name:)([^\s<>]{1,128}))>/gu;
const MENTION_ID = /^(?!user\.name:)[^\s<>]{1,128}$/u;

function isReplacementId(id: string): boolean {
  return MENTION_ID.test(id) && !id.includes('`');
}

interface MentionToken {
  kind: 'id' | 'name';
  value: string;
}

function* scanMentions(content: string): Generator<MentionToken> {
  for (const segment of splitCode(content)) {
    if (segment.code) continue;
    for (const m of segment.text.matchAll(MENTION)) {
      if (m[1] !== undefined) yield { kind: 'name', value: m[1] };
      else yield { kind: 'id', value: m[2] };
    }
  }
}

interface Fence {
  char: '`' | '~';
  length: number;
}

function endOfLine(s: string, from: number): number {
  const i = s.indexOf('\n', from);
  return i === -1 ? s.length : i;
}

/** Skips up to 3 spaces of indentation; -1 if the line is indented further. */
function afterIndent(s: string, from: number, to: number): number {
  let i = from;
  while (i < to && i - from < 4 && s[i] === ' ') i++;
  return i - from > 3 ? -1 : i;
}

function runEnd(s: string, from: number, to: number, ch: string): number {
  let i = from;
  while (i < to && s[i] === ch) i++;
  return i;
}

function openingFence(s: string, from: number, to: number): Fence | null {
  const start = afterIndent(s, from, to);
  if (start === -1) return null;
  const ch = s[start];
  if (ch !== '`' && ch !== '~') return null;
  const end = runEnd(s, start, to, ch);
  if (end - start < 3) return null;
  // The info string of a backtick fence cannot hold a backtick (CommonMark): "```x```" is inline.
  if (ch === '`' && s.slice(end, to).includes('`')) return null;
  return { char: ch, length: end - start };
}

function isClosingFence(s: string, from: number, to: number, fence: Fence): boolean {
  const start = afterIndent(s, from, to);
  if (start === -1) return false;
  const end = runEnd(s, start, to, fence.char);
  if (end - start < fence.length) return false;
  for (let i = end; i < to; i++) if (s[i] !== ' ' && s[i] !== '\t' && s[i] !== '\r') return false;
  return true;
}

/**
 * Inline code spans in [from, to): a run of N backticks up to the next run of exactly N
 * backticks; an opener without such a run is literal text and scanning goes on after it.
 * Linear: per run length, a pointer into the list of runs of that length only moves forward.
 */
function splitInline(s: string, from: number, to: number, push: (from: number, to: number, code: boolean) => void): void {
  const runs: { at: number; length: number }[] = [];
  const byLength = new Map<number, number[]>(); // run length → indices into `runs`, ascending
  for (let i = from; i < to;) {
    if (s[i] !== '`') {
      i++;
      continue;
    }
    const end = runEnd(s, i, to, '`');
    const length = end - i;
    const list = byLength.get(length);
    if (list) list.push(runs.length);
    else byLength.set(length, [runs.length]);
    runs.push({ at: i, length });
    i = end;
  }

  const next = new Map<number, number>(); // run length → position in its list to look from
  let cursor = from;
  for (let r = 0; r < runs.length; r++) {
    const opener = runs[r];
    if (opener.at < cursor) continue; // inside a span already emitted
    const list = byLength.get(opener.length)!;
    let p = next.get(opener.length) ?? 0;
    while (p < list.length && list[p] <= r) p++;
    next.set(opener.length, p);
    if (p === list.length) continue; // no closer: literal backticks
    const closer = runs[list[p]];
    push(cursor, opener.at, false);
    cursor = closer.at + closer.length;
    push(opener.at, cursor, true);
  }
  push(cursor, to, false);
}
