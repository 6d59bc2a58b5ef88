import { describe, expect, it } from 'vitest';
import { extractMentions, findNameMentions, replaceNameMentions, splitCode } from '../lib/messages/mention-parser.js';

const FENCE = '```';
const TILDES = '~~~';
/** One character (code point) that takes two UTF-16 units: lengths count it once. */
const E = '😀';

describe('extractMentions (api.md Messages, Mentions)', () => {
  const cases: [name: string, content: string, expected: string[]][] = [
    // basics
    ['a plain mention', 'hi <@u1>!', ['u1']],
    ['mention at the start of the text', '<@u1> hi', ['u1']],
    ['mention at the end of the text', 'hi <@u1>', ['u1']],
    ['the whole text is a mention', '<@u1>', ['u1']],
    ['adjacent mentions', '<@a><@b>', ['a', 'b']],
    ['duplicates once each, in order of first appearance', '<@b> <@a> <@b> <@a> <@c>', ['b', 'a', 'c']],
    ['no mentions', 'hello world', []],
    ['empty text', '', []],
    ['ids are opaque: punctuation and unicode allowed', '<@usr_01:x.y-z> <@ユーザー>', ['usr_01:x.y-z', 'ユーザー']],
    ['a stray <@ before a mention', '<@<@u1>', ['u1']],
    ['user.name without colon is an id', '<@user.name>', ['user.name']],
    ['prefix check is case-sensitive', '<@User.Name:x>', ['User.Name:x']],

    // invalid ids
    ['empty id', '<@>', []],
    ['id with a space', '<@u 1>', []],
    ['id with a tab', '<@u\t1>', []],
    ['id with a line break', '<@u\n1>', []],
    ['id with <', '<@u<1>', []],
    ['128-char id', `<@${'x'.repeat(128)}>`, ['x'.repeat(128)]],
    ['129-char id', `<@${'x'.repeat(129)}>`, []],
    ['id of 128 emoji (256 UTF-16 units)', `<@${E.repeat(128)}>`, [E.repeat(128)]],
    ['id of 129 emoji', `<@${E.repeat(129)}>`, []],
    ['id of 127 ASCII and one emoji', `<@${'x'.repeat(127)}${E}>`, ['x'.repeat(127) + E]],
    ['id of 128 ASCII and one emoji', `<@${'x'.repeat(128)}${E}>`, []],
    ['unterminated', '<@u1', []],
    ['<@user.name:x> is not an id mention', '<@user.name:x>', []],
    ['<@user.name:> is nothing', '<@user.name:>', []],

    // inline code spans
    ['1-backtick span hides a mention', 'see `<@u1>` and <@u2>', ['u2']],
    ['2-backtick span hides a mention', 'see ``<@u1>`` and <@u2>', ['u2']],
    ['2-backtick span containing a single backtick', '``a ` <@u1> `` <@u2>', ['u2']],
    ['1-backtick opener is not closed by a 2-backtick run', '`a `` <@u1> ` <@u2>', ['u2']],
    ['span across a line break', '`a\n<@u1>` <@u2>', ['u2']],
    ['unclosed backtick is literal; mention after it counts', 'a ` b <@u1>', ['u1']],
    ['unclosed 2-backtick run is literal, later 1-backtick span still works', '`` x `<@u1>` <@u2>', ['u2']],
    ['a mention split by a code span is no mention', '<@u`1`>', []],
    ['mention right before and after a span', '<@a>`x`<@b>', ['a', 'b']],
    ['one-line ```x``` is an inline span', '```<@u1>``` <@u2>', ['u2']],

    // fenced blocks
    ['``` fence', `${FENCE}\n<@u1>\n${FENCE}\n<@u2>`, ['u2']],
    ['~~~ fence', `${TILDES}\n<@u1>\n${TILDES}\n<@u2>`, ['u2']],
    ['fence with an info string', `${FENCE}ts title\n<@u1>\n${FENCE}\n<@u2>`, ['u2']],
    ['tilde info string may hold backticks', `${TILDES} a\`b\n<@u1>\n${TILDES}\n<@u2>`, ['u2']],
    ['closed by a longer fence', `${FENCE}\n<@u1>\n\`\`\`\`\`\n<@u2>`, ['u2']],
    ['not closed by a shorter fence', `\`\`\`\`\n<@u1>\n${FENCE}\n<@u2>`, []],
    ['``` not closed by ~~~', `${FENCE}\n<@u1>\n${TILDES}\n<@u2>`, []],
    ['~~~ not closed by ```', `${TILDES}\n<@u1>\n${FENCE}\n<@u2>`, []],
    ['unclosed fence runs to the end of the text', `<@u0>\n${FENCE}\n<@u1>\n\n<@u2>`, ['u0']],
    ['closing line holds only fence chars and trailing whitespace', `${FENCE}\n${FENCE} x <@u1>\n${FENCE} \t\n<@u2>`, ['u2']],
    ['CRLF line endings', `${FENCE}\r\n<@u1>\r\n${FENCE}\r\n<@u2>`, ['u2']],
    // "x ```" is no fence (its backticks are literal), so the later ``` line opens an unclosed fence
    ['fence must start a line', `x ${FENCE}\n<@u1>\n${FENCE}\n<@u2>`, ['u1']],
    ['fence indented by 3 spaces counts', `   ${FENCE}\n<@u1>\n   ${FENCE}\n<@u2>`, ['u2']],
    ['fence indented by 4 spaces does not', `    ${TILDES}\n<@u1>\n<@u2>`, ['u1', 'u2']],
    ['two backticks are no fence', '``\n<@u1>\n``\n<@u2>', ['u2']],
    ['fence interrupts an open inline span', `\`a\n${FENCE}\n<@u1>\n${FENCE}\n<@u2> \``, ['u2']],
    ['mention just after the closing fence line', `${FENCE}\nx\n${FENCE}\n<@u1>`, ['u1']],
  ];

  it.each(cases)('%s', (_name, content, expected) => {
    expect(extractMentions(content)).toEqual(expected);
  });
});

describe('findNameMentions', () => {
  const cases: [name: string, content: string, expected: string[]][] = [
    ['one name', 'hi <@user.name:alice>', ['alice']],
    ['names once each, in order', '<@user.name:bob> <@user.name:alice> <@user.name:bob>', ['bob', 'alice']],
    ['names may hold spaces and <', '<@user.name:Alice Smith> <@user.name:a<b>', ['Alice Smith', 'a<b']],
    ['64-char name', `<@user.name:${'n'.repeat(64)}>`, ['n'.repeat(64)]],
    ['65-char name is not matched', `<@user.name:${'n'.repeat(65)}>`, []],
    ['name of 64 emoji (128 UTF-16 units)', `<@user.name:${E.repeat(64)}>`, [E.repeat(64)]],
    ['name of 65 emoji is not matched', `<@user.name:${E.repeat(65)}>`, []],
    ['name of 63 ASCII and one emoji', `<@user.name:${'n'.repeat(63)}${E}>`, ['n'.repeat(63) + E]],
    ['name with a line break is not matched', '<@user.name:ali\nce>', []],
    ['name with a CR is not matched', '<@user.name:ali\rce>', []],
    ['empty name is not matched', '<@user.name:>', []],
    ['names inside code are not matched', '`<@user.name:a>` ~\n```\n<@user.name:b>\n```', []],
    ['id mentions are not names', '<@alice>', []],
  ];

  it.each(cases)('%s', (_name, content, expected) => {
    expect(findNameMentions(content)).toEqual(expected);
  });
});

describe('replaceNameMentions', () => {
  const ids = new Map([
    ['alice', 'u-alice'],
    ['Bob Smith', 'u-bob'],
    ['weird', 'has space'],
    [E.repeat(64), E.repeat(128)],
  ]);
  const cases: [name: string, content: string, expected: string][] = [
    ['known name is translated', 'hi <@user.name:alice>!', 'hi <@u-alice>!'],
    ['name with a space', '<@user.name:Bob Smith>', '<@u-bob>'],
    ['unknown name stays as text', 'hi <@user.name:carol>', 'hi <@user.name:carol>'],
    ['hit and miss together', '<@user.name:alice><@user.name:carol>', '<@u-alice><@user.name:carol>'],
    ['every occurrence is translated', '<@user.name:alice> <@user.name:alice>', '<@u-alice> <@u-alice>'],
    ['inline code untouched', '`<@user.name:alice>` <@user.name:alice>', '`<@user.name:alice>` <@u-alice>'],
    ['fenced code untouched', `${FENCE}\n<@user.name:alice>\n${FENCE}\n<@user.name:alice>`, `${FENCE}\n<@user.name:alice>\n${FENCE}\n<@u-alice>`],
    ['id mentions untouched', '<@alice>', '<@alice>'],
    ['name with a line break untouched', '<@user.name:ali\nce>', '<@user.name:ali\nce>'],
    ['an id that would not read back as a mention is not used', '<@user.name:weird>', '<@user.name:weird>'],
    ['a name of 64 emoji becomes an id of 128 emoji', `<@user.name:${E.repeat(64)}>`, `<@${E.repeat(128)}>`],
    ['empty text', '', ''],
  ];

  it.each(cases)('%s', (_name, content, expected) => {
    expect(replaceNameMentions(content, ids)).toEqual(expected);
  });

  it('translated names read back as id mentions', () => {
    const out = replaceNameMentions('<@user.name:Bob Smith> and <@user.name:alice>', ids);
    expect(extractMentions(out)).toEqual(['u-bob', 'u-alice']);
  });
});

describe('splitCode', () => {
  const cases: [name: string, content: string, expected: { text: string; code: boolean }[]][] = [
    ['empty', '', []],
    ['plain text', 'abc', [{ text: 'abc', code: false }]],
    [
      'inline span',
      'a `b` c',
      [
        { text: 'a ', code: false },
        { text: '`b`', code: true },
        { text: ' c', code: false },
      ],
    ],
    [
      'fenced block, line break after the closing fence stays text',
      `x\n${FENCE}js\ny\n${FENCE}\nz`,
      [
        { text: 'x\n', code: false },
        { text: `${FENCE}js\ny\n${FENCE}`, code: true },
        { text: '\nz', code: false },
      ],
    ],
  ];

  it.each(cases)('%s', (_name, content, expected) => {
    expect(splitCode(content)).toEqual(expected);
  });

  it('joining the segments gives back the content', () => {
    const samples = ['a `b` c', `x\n${FENCE}\ny`, '`` ` ``', '~~~\n`a`\n~~~~\n`b', '` `` ```'];
    for (const s of samples)
      expect(
        splitCode(s)
          .map((seg) => seg.text)
          .join(''),
      ).toBe(s);
  });
});

// Inputs that make a naive scanner backtrack: they must parse to "nothing here" (a
// quadratic or exponential scan shows up as a suite timeout; speed is measured by the
// benchmark, never asserted here).
describe('pathological input finds no mention and changes nothing', () => {
  const inputs: [name: string, content: string][] = [
    ['16000 backticks', '`'.repeat(16000)],
    ['16000 separated backticks', '` '.repeat(8000)],
    ['runs of growing length, none closed', Array.from({ length: 170 }, (_, i) => '`'.repeat(i + 1)).join('x')],
    ['16000 <@', '<@'.repeat(8000)],
    ['long unclosed names', '<@user.name:'.repeat(1300)],
    ['names one char too long', `<@user.name:${'n'.repeat(65)}`.repeat(200)],
    ['many fence-like lines', `${FENCE}\n`.repeat(4000)],
    ['many opening fences of growing length', Array.from({ length: 170 }, (_, i) => '~'.repeat(i + 3)).join('\n')],
  ];

  it.each(inputs)('%s', (_name, content) => {
    expect(extractMentions(content)).toEqual([]);
    expect(findNameMentions(content)).toEqual([]);
    expect(replaceNameMentions(content, new Map([['n', 'u']]))).toBe(content);
  });
});
