/**
 * lib/http/json-text.ts, the scanner that keeps parts of a JSON body as sent (command specs):
 * on any JSON text, whatever its spacing, it must cut exactly the elements JSON.parse sees.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { arrayElementTexts, compactJson } from '../lib/http/json-text.js';

/** JSON text of `value` with random whitespace between tokens (never inside strings). */
function spaced(value: unknown, pad: () => string): string {
  if (Array.isArray(value)) return `[${pad()}${value.map((v) => spaced(v, pad)).join(`${pad()},${pad()}`)}${pad()}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}${pad()}:${pad()}${spaced(v, pad)}`);
    return `{${pad()}${members.join(`${pad()},${pad()}`)}${pad()}}`;
  }
  return JSON.stringify(value);
}

const pads = fc.array(fc.constantFrom('', ' ', '\n', '\t', '\r\n  '), { minLength: 64, maxLength: 64 });
const padder = (list: string[]) => {
  let i = 0;
  return () => list[i++ % list.length];
};
// Strings with quotes, backslashes, brackets, commas and spaces: what a scanner could trip on.
const tricky = fc.string({ unit: fc.constantFrom('a', ' ', '"', '\\', '{', '}', '[', ']', ',', ':', 'é', '\n', '\u2028') });
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), tricky, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
})).value;

describe('json-text', () => {
  it('compactJson drops exactly the whitespace between tokens', () => {
    fc.assert(
      fc.property(json, pads, (value, list) => {
        expect(compactJson(spaced(value, padder(list)))).toBe(JSON.stringify(value));
      }),
    );
  });

  it('arrayElementTexts cuts the elements JSON.parse sees, for the last member of that key, among other members', () => {
    fc.assert(
      fc.property(fc.array(json, { maxLength: 5 }), json, pads, (elements, other, list) => {
        const pad = padder(list);
        const text = `${pad()}{${pad()}"commands":${pad()}"first"${pad()},"x\\"commands":${spaced(other, pad)},${pad()}"commands"${pad()}:${pad()}${spaced(elements, pad)}${pad()}}${pad()}`;
        const texts = arrayElementTexts(text, 'commands');
        expect(texts?.map((t) => JSON.parse(t))).toEqual(elements.map((e) => JSON.parse(JSON.stringify(e))));
        expect(texts?.map(compactJson)).toEqual(elements.map((e) => JSON.stringify(e)));
      }),
    );
  });

  it('keeps what a parse loses: numbers as written, escapes, the order of integer-like keys', () => {
    const text = '{"commands": [ {"n": 1e400, "big": 12345678901234567890123, "one": 1.0}, {"b":1, "2":2, "1":3}, "\\u00e9\\/" ]}';
    expect(arrayElementTexts(text, 'commands')?.map(compactJson)).toEqual(['{"n":1e400,"big":12345678901234567890123,"one":1.0}', '{"b":1,"2":2,"1":3}', '"\\u00e9\\/"']);
  });

  it('answers null where there is no such array', () => {
    expect(arrayElementTexts('[1,2]', 'commands')).toBeNull();
    expect(arrayElementTexts('{"commands": {"a": 1}}', 'commands')).toBeNull();
    expect(arrayElementTexts('{"other": []}', 'commands')).toBeNull();
    expect(arrayElementTexts('{"commands": []}', 'commands')).toEqual([]);
  });
});
