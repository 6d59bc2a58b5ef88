/**
 * Building blocks of the fuzz suite (test/fuzz.test.ts): a seeded PRNG and generators of
 * hostile values, paths, queries and bodies. Everything is drawn from the PRNG, so a seed
 * replays the same run.
 */

/** mulberry32: small, fast, good enough to drive a fuzzer; the same seed gives the same sequence. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)];
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
export type Rng = ReturnType<typeof prng>;

/** Strings that have broken parsers, queries and file systems somewhere. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  'null',
  'undefined',
  'true',
  '__proto__',
  'constructor',
  "' OR '1'='1",
  "'; DROP TABLE messages; --",
  '"; SELECT SLEEP(5); --',
  '\\',
  "\\\\'",
  '%',
  '%00',
  '%2e%2e%2f',
  '../../etc/passwd',
  '..\\..\\windows',
  '\u0000',
  '\ud800',
  '\uffff',
  '😀'.repeat(40),
  'é'.repeat(130),
  'a'.repeat(129),
  'x'.repeat(5000),
  '<script>alert(1)</script>',
  '${7*7}',
  '{{7*7}}',
  '/force-proceed',
  '/no-reply',
  '@everyone',
  '\r\nX-Injected: 1',
  'NaN',
  '1e309',
  'general',
  'discuss',
  'admin',
  'owner',
  'markdown',
];

/** Field names the API reads somewhere, so that generated bodies reach validation and not only "unknown field". */
export const FIELD_NAMES = [
  'name',
  'description',
  'guildId',
  'xType',
  'isPublic',
  'topic',
  'memberUserIds',
  'wakeUserIds',
  'turn',
  'order',
  'bypass',
  'userIds',
  'userId',
  'role',
  'closed',
  'content',
  'replyToId',
  'attachmentIds',
  'clientMsgId',
  'format',
  'title',
  'commands',
  'spec',
  '__proto__',
  'constructor',
  'prototype',
];

/** Query parameters the API reads somewhere. */
export const QUERY_NAMES = ['limit', 'before', 'after', 'around', 'prefix', 'guildId', 'access_token', 'q', 'format'];

const SCALARS = [null, true, false, 0, -1, 1, 2 ** 53, -(2 ** 63), 1e308, 0.5, -0];

/** A hostile JSON value: scalars, strings, arrays and objects of known field names, up to `depth` levels. */
export function hostileValue(r: Rng, depth: number, ids: readonly string[]): unknown {
  const roll = r.int(10);
  if (depth <= 0 || roll < 3) return r.chance(0.5) ? r.pick(SCALARS) : r.pick(HOSTILE_STRINGS);
  if (roll < 5) return r.pick(ids);
  if (roll < 7) return Array.from({ length: r.int(6) }, () => hostileValue(r, depth - 1, ids));
  const obj: Record<string, unknown> = {};
  for (let i = r.int(6); i > 0; i--) obj[r.pick(FIELD_NAMES)] = hostileValue(r, depth - 1, ids);
  return obj;
}

/** Text of `levels` nested arrays, deeper than JSON.stringify can write. */
export const deepArraysText = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

export interface FuzzBody {
  text?: string;
  contentType?: string;
}

/** A request body: JSON of known fields, hostile JSON, oversized or deep JSON, malformed text, another media type, or none. */
export function hostileBody(r: Rng, ids: readonly string[]): FuzzBody {
  const roll = r.int(20);
  const asJson = (v: unknown) => ({ text: JSON.stringify(v), contentType: 'application/json' });
  if (roll < 3) return {};
  if (roll < 11) return asJson(hostileValue(r, 4, ids));
  if (roll < 13) {
    const obj: Record<string, unknown> = {};
    obj[r.pick(FIELD_NAMES)] = Array.from({ length: r.pick([101, 201, 1001, 5000, 120_000]) }, () => r.pick(['', 'x', ...ids]));
    return asJson(obj);
  }
  if (roll < 14) {
    const deep = deepArraysText(r.pick([33, 200, 5000]));
    const text = r.chance(0.5) ? `{"${r.pick(FIELD_NAMES)}":${deep}}` : `{"commands":[{"name":"deep","x":${deep}}]}`;
    return { text, contentType: 'application/json' };
  }
  if (roll < 15) return { text: r.pick(['{', '{"a":', '[1,2', 'nul', '"\\ud800"', '{"a":1}}', '\u0000']), contentType: 'application/json' };
  if (roll < 16) return { text: 'x'.repeat(r.pick([10, 1024 * 1024 + 10])), contentType: r.pick(['application/json', 'text/plain']) };
  if (roll < 17)
    return {
      text: JSON.stringify({ name: 'x' }),
      contentType: r.pick(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']),
    };
  if (roll < 18)
    return { text: '--x\r\nContent-Disposition: form-data; name="file"; filename="../../a"\r\n\r\nhello\r\n--x--\r\n', contentType: 'multipart/form-data; boundary=x' };
  return asJson(r.pick([[], 'string', 42, null, { commands: [{ name: r.pick(['ok', 'force-proceed', 'x'.repeat(40)]), extra: hostileValue(r, 3, ids) }] }]));
}

/** A query string of 0–3 parameters, each a hostile or plausible value. */
export function hostileQuery(r: Rng, ids: readonly string[]): string {
  const n = r.int(4);
  if (n === 0) return '';
  const params = new URLSearchParams();
  for (let i = 0; i < n; i++) params.append(r.pick(QUERY_NAMES), r.chance(0.5) ? r.pick(HOSTILE_STRINGS) : r.pick([...ids, '1', '50', '101', '0', '-5', '9999999999999999']));
  return `?${params}`;
}

/** A path parameter: one of `ids` (real ones) most of the time, else a hostile string, percent-encoded or raw. */
export function hostileParam(r: Rng, ids: readonly string[]): string {
  if (r.chance(0.6)) return encodeURIComponent(r.pick(ids));
  const s = r.pick(HOSTILE_STRINGS);
  return r.chance(0.8) ? encodeLoosely(s) : r.pick(['%', '%E0%A4%A', '..', '.', '%2F', s.replace(/[^\x21-\x7e]/g, '')]) || 'x';
}

/** encodeURIComponent, with a lone surrogate sent as the bytes of its (invalid) UTF-8 form. */
function encodeLoosely(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}
