/**
 * Text lengths as api.md counts them (lib/unicode.ts `codePointsBetween`, lib/validation.ts
 * `chars`): characters are code points, so an emoji is one, not two UTF-16 units. Table-driven, no I/O.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { codePointsBetween } from '../lib/unicode.js';
import { chars, storedText } from '../lib/validation.js';

const E = '😀'; // one code point, two UTF-16 units

describe('codePointsBetween', () => {
  it.each<[string, string, number, number, boolean]>([
    ['empty within 0–3', '', 0, 3, true],
    ['empty below 1–3', '', 1, 3, false],
    ['3 ASCII within 1–3', 'abc', 1, 3, true],
    ['4 ASCII above 1–3', 'abcd', 1, 3, false],
    ['3 emoji (6 units) within 1–3', E.repeat(3), 1, 3, true],
    ['4 emoji above 1–3', E.repeat(4), 1, 3, false],
    ['2 emoji and one ASCII within 1–3', E + 'a' + E, 1, 3, true],
    ['2 emoji and two ASCII above 1–3', E + 'ab' + E, 1, 3, false],
    ['2 emoji (4 units) below 3–5', E.repeat(2), 3, 5, false],
    ['3 emoji (6 units) within 3–5', E.repeat(3), 3, 5, true],
    ['64 emoji within 1–64', E.repeat(64), 1, 64, true],
    ['65 emoji above 1–64', E.repeat(65), 1, 64, false],
  ])('%s', (_, s, min, max, ok) => {
    expect(codePointsBetween(s, min, max)).toBe(ok);
  });
});

describe('chars(min, max)', () => {
  const name = storedText().trim().check(chars(1, 3));
  const issues = (v: unknown) => {
    const r = name.safeParse(v);
    return r.success ? [] : r.error.issues.map((i) => i.message);
  };

  it.each<[string, string, string[]]>([
    ['3 emoji', E.repeat(3), []],
    ['3 emoji with spaces around (trimmed first)', `  ${E.repeat(3)} `, []],
    ['4 emoji', E.repeat(4), ['must be at most 3 characters']],
    ['empty', '', ['must be at least 1 character']],
    ['only spaces', '   ', ['must be at least 1 character']],
  ])('%s → %j', (_, value, expected) => {
    expect(issues(value)).toEqual(expected);
  });

  it('keeps the value as given', () => {
    expect(
      z
        .string()
        .check(chars(0, 2))
        .parse(E + E),
    ).toBe(E + E);
  });
});
