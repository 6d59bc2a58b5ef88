import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCommands, normalizePrefix } from '../lib/commands/command-rules.js';
import { seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

const BUILTINS = ['force-proceed', 'no-reply'];
const register = (user: TestUser, commands: unknown) => t.api('PUT', '/api/commands', { token: user.token, body: { commands } });
const list = async (token: string, prefix?: string) => {
  const r = await t.api('GET', `/api/commands${prefix === undefined ? '' : `?prefix=${encodeURIComponent(prefix)}`}`, { token });
  expect(r.status).toBe(200);
  return r.body.commands as { name: string; description: string; source: string; spec: Record<string, unknown> }[];
};
const mine = async (user: TestUser) => (await list(user.token)).filter((c) => c.source === user.id);

describe('command registry rules', () => {
  it.each([
    [undefined, ''],
    ['he', 'he'],
    ['/He', 'he'],
    ['  /deploy-', 'deploy-'],
    ['a b', null],
    ['ü', null],
    ['x'.repeat(33), null],
  ])('the prefix %j is read as %j', (raw, prefix) => {
    expect(normalizePrefix(raw)).toBe(prefix);
  });

  it('orders by name, then built-ins first, then by user id', () => {
    const entries = [
      { name: 'b', source: 'u2' },
      { name: 'a', source: 'u9' },
      { name: 'b', source: 'builtin' },
      { name: 'b', source: 'u1' },
      { name: 'a-x', source: 'u1' },
    ];
    expect(entries.sort(compareCommands)).toEqual([
      { name: 'a', source: 'u9' },
      { name: 'a-x', source: 'u1' },
      { name: 'b', source: 'builtin' },
      { name: 'b', source: 'u1' },
      { name: 'b', source: 'u2' },
    ]);
  });
});

describe('PUT /api/commands', () => {
  it('registers the caller’s set and answers {count}; each spec is kept verbatim, field order included', async () => {
    const u = await t.centerApi.user('agent');
    const spec = { zeta: '\udc00 kept', name: 'deploy', args: [{ name: 'env', required: true, choices: ['dev', 'prod'] }], description: 'Ship it', nested: { a: null, b: 1.5 } };
    const r = await register(u, [spec, { name: 'status' }]);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ count: 2 });
    const listed = await mine(u);
    expect(listed).toEqual([
      { name: 'deploy', description: 'Ship it', source: u.id, spec },
      { name: 'status', description: '', source: u.id, spec: { name: 'status' } },
    ]);
    expect(JSON.stringify(listed[0].spec)).toBe(JSON.stringify(spec));
  });

  it('keeps a field named "__proto__" as a field of the spec', async () => {
    const u = await t.centerApi.user('agent');
    const raw = '{"commands":[{"name":"proto","__proto__":{"x":1},"usage":"u"}]}';
    const r = await t.api('PUT', '/api/commands', { token: u.token, rawBody: raw, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    const [listed] = await mine(u);
    expect(JSON.stringify(listed.spec)).toBe('{"name":"proto","__proto__":{"x":1},"usage":"u"}');
  });

  it.each([
    ['an integer beyond 2^53', '{"name":"big","max":12345678901234567890123,"id":9007199254740993}'],
    ['numbers beyond a double (1e400, 1e-400) and written 1.0 or 2E+3', '{"name":"huge","limit":1e400,"tiny":1e-400,"step":1.0,"e":2E+3}'],
    ['integer-like keys in the order sent', '{"name":"keys","b":1,"2":2,"1":3,"nested":{"10":"x","9":"y"}}'],
    ['unicode escapes as written', '{"name":"esc","help":"caf\\u00e9 \\ud83d\\ude80 \\/ \\u0041 \\udc00"}'],
  ])('lists a spec with %s exactly as sent, whitespace between tokens removed', async (_what, specText) => {
    const u = await t.centerApi.user('agent');
    // The same spec spaced out between its tokens (none of these strings holds , : { or [).
    const spaced = specText.replace(/[,:{[]/g, '$& \n\t');
    const rawBody = `{"commands": [ ${spaced} ]}`;
    const r = await t.api('PUT', '/api/commands', { token: u.token, rawBody, headers: { 'content-type': 'application/json' } });
    expect(r.status).toBe(200);
    const listed = await t.api('GET', '/api/commands', { token: u.token });
    expect(listed.status).toBe(200);
    expect(listed.text).toContain(`"source":${JSON.stringify(u.id)},"spec":${specText}}`);
  });

  it('replaces the whole set of the caller and leaves other users’ commands alone', async () => {
    const a = await t.centerApi.user('agent-a');
    const b = await t.centerApi.user('agent-b');
    await register(a, [{ name: 'one' }, { name: 'two' }]);
    await register(b, [{ name: 'one', description: 'b’s one' }]);
    const r = await register(a, [{ name: 'three' }]);
    expect(r.body).toEqual({ count: 1 });
    expect((await mine(a)).map((c) => c.name)).toEqual(['three']);
    expect(await mine(b)).toEqual([{ name: 'one', description: 'b’s one', source: b.id, spec: { name: 'one', description: 'b’s one' } }]);
  });

  it('clears the caller’s commands with an empty list', async () => {
    const u = await t.centerApi.user('agent');
    await register(u, [{ name: 'gone' }]);
    const r = await register(u, []);
    expect(r.body).toEqual({ count: 0 });
    expect(await mine(u)).toEqual([]);
  });

  it('accepts 200 commands and a 200-character description', async () => {
    const u = await t.centerApi.user('agent');
    const specs = Array.from({ length: 200 }, (_, i) => ({ name: `cmd-${i}`, description: '✨'.repeat(200) }));
    const r = await register(u, specs);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ count: 200 });
  });

  it('counts the description in characters (code points): 200 emoji are accepted and listed as sent', async () => {
    const u = await t.centerApi.user('agent');
    const description = '🚀'.repeat(200);
    const r = await register(u, [{ name: 'launch', description }]);
    expect(r.status).toBe(200);
    expect(await mine(u)).toEqual([{ name: 'launch', description, source: u.id, spec: { name: 'launch', description } }]);
  });

  it.each<[string, unknown]>([
    ['an upper-case name', [{ name: 'Deploy' }]],
    ['a name starting with "-"', [{ name: '-x' }]],
    ['a name starting with "_"', [{ name: '_x' }]],
    ['a 33-character name', [{ name: 'a'.repeat(33) }]],
    ['an empty name', [{ name: '' }]],
    ['a name with a space', [{ name: 'a b' }]],
    ['a name with a slash', [{ name: '/deploy' }]],
    ['a missing name', [{ description: 'x' }]],
    ['a name that is not a string', [{ name: 7 }]],
    ['a description over 200 characters', [{ name: 'ok', description: 'd'.repeat(201) }]],
    ['a description over 200 characters of emoji', [{ name: 'ok', description: '🚀'.repeat(201) }]],
    ['a description that is not a string', [{ name: 'ok', description: ['d'] }]],
    ['a description with an unpaired surrogate', [{ name: 'ok', description: 'a\ud800' }]],
    ['a spec that is not an object', ['deploy']],
    ['a null spec', [null]],
    ['the reserved name no-reply', [{ name: 'no-reply' }]],
    ['the reserved name force-proceed', [{ name: 'ok' }, { name: 'force-proceed' }]],
    ['the same name twice', [{ name: 'dup' }, { name: 'dup', description: 'again' }]],
    ['201 commands', Array.from({ length: 201 }, (_, i) => ({ name: `c${i}` }))],
    ['commands that is not an array', { name: 'x' }],
  ])('returns 400 bad_request for %s and keeps the previous set', async (_what, commands) => {
    const u = await t.centerApi.user('agent');
    await register(u, [{ name: 'kept' }]);
    const r = await register(u, commands);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad_request');
    expect(r.body.error.details.length).toBeGreaterThan(0);
    expect((await mine(u)).map((c) => c.name)).toEqual(['kept']);
  });

  it('returns 400 for a body without commands, malformed JSON, and 415 for a body that is not JSON', async () => {
    const u = await t.centerApi.user('agent');
    expect((await t.api('PUT', '/api/commands', { token: u.token, body: {} })).status).toBe(400);
    const malformed = await t.api('PUT', '/api/commands', { token: u.token, rawBody: '{"commands": [', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('bad_request');
    const text = await t.api('PUT', '/api/commands', { token: u.token, rawBody: 'commands', headers: { 'content-type': 'text/plain' } });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
  });

  it('returns 413 payload_too_large when the specs take more than 256 KiB, and keeps the previous set', async () => {
    const u = await t.centerApi.user('agent');
    await register(u, [{ name: 'kept' }]);
    const overhead = JSON.stringify({ name: 'big', help: '' }).length;
    const atLimit = await register(u, [{ name: 'big', help: 'x'.repeat(256 * 1024 - overhead) }]);
    expect(atLimit.status).toBe(200);
    const over = await register(u, [
      { name: 'big', help: 'x'.repeat(128 * 1024) },
      { name: 'bigger', help: 'x'.repeat(128 * 1024) },
    ]);
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe('payload_too_large');
    expect((await mine(u)).map((c) => c.name)).toEqual(['big']);
  });

  it('counts the limit in UTF-8 bytes of the serialised specs', async () => {
    const u = await t.centerApi.user('agent');
    // 100 000 characters, 300 000 bytes.
    const r = await register(u, [{ name: 'wide', help: '✓'.repeat(100_000) }]);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
  });

  it('returns 413 for a body over 1 MiB', async () => {
    const u = await t.centerApi.user('agent');
    const r = await register(u, [{ name: 'huge', help: 'x'.repeat(1024 * 1024) }]);
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
  });

  it('returns 403 forbidden for a guild token and 401 without a token', async () => {
    const { guildId } = await seedGuild(t, 0);
    const token = await t.centerApi.guildToken(guildId);
    const guild = await t.api('PUT', '/api/commands', { token, body: { commands: [] } });
    expect(guild.status).toBe(403);
    expect(guild.body.error.code).toBe('forbidden');
    const none = await t.api('PUT', '/api/commands', { body: { commands: [] } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
  });

  it('applies concurrent replacements by one user one after the other: the result is one of the sets, whole', async () => {
    const u = await t.centerApi.user('agent');
    const sets = Array.from({ length: 8 }, (_, i) => Array.from({ length: 20 }, (_, j) => ({ name: `set${i}-c${j}` })));
    const results = await Promise.all(sets.map((s) => register(u, s)));
    for (const r of results) expect(r.status).toBe(200);
    const names = (await mine(u)).map((c) => c.name);
    expect(sets.map((s) => s.map((c) => c.name).sort()).some((s) => JSON.stringify(s) === JSON.stringify([...names].sort()))).toBe(true);
  });
});

describe('GET /api/commands', () => {
  it('lists the two built-ins and every registered command with its source, sorted by name', async () => {
    const a = await t.centerApi.user('agent');
    const b = await t.centerApi.user('agent');
    await register(a, [{ name: 'zz-last' }, { name: 'aa-first' }, { name: 'mm-shared' }]);
    await register(b, [{ name: 'mm-shared', description: 'b' }]);
    const all = await list(a.token);
    const sorted = [...all].sort(compareCommands);
    expect(all).toEqual(sorted);
    for (const name of BUILTINS) {
      expect(all.filter((c) => c.name === name)).toEqual([{ name, description: expect.any(String), source: 'builtin', spec: { name, description: expect.any(String) } }]);
    }
    const shared = all.filter((c) => c.name === 'mm-shared');
    expect(shared.map((c) => c.source)).toEqual([a.id, b.id].sort());
    expect(all.some((c) => c.name === 'aa-first' && c.source === a.id)).toBe(true);
  });

  it('filters by name prefix, ignoring a leading "/" and letter case', async () => {
    const u = await t.centerApi.user('agent');
    await register(u, [{ name: 'pfx-alpha' }, { name: 'pfx-beta' }, { name: 'pfxother' }, { name: 'other-pfx' }]);
    expect((await list(u.token, 'pfx-')).map((c) => c.name)).toEqual(['pfx-alpha', 'pfx-beta']);
    expect((await list(u.token, '/PFX-B')).map((c) => c.name)).toEqual(['pfx-beta']);
    expect((await list(u.token, 'pfx')).map((c) => c.name)).toEqual(['pfx-alpha', 'pfx-beta', 'pfxother']);
    expect((await list(u.token, 'no-')).map((c) => c.source)).toEqual(['builtin']);
    expect(await list(u.token, 'zzz-nothing')).toEqual([]);
    expect(await list(u.token, 'with space')).toEqual([]);
  });

  it('treats "_" and "%" in a prefix literally', async () => {
    const u = await t.centerApi.user('agent');
    await register(u, [{ name: 'lit_a' }, { name: 'litxa' }]);
    expect((await list(u.token, 'lit_')).map((c) => c.name)).toEqual(['lit_a']);
    expect(await list(u.token, 'lit%')).toEqual([]);
  });

  it('answers a guild token too, and 400 for a prefix over 64 characters', async () => {
    const { guildId } = await seedGuild(t, 0);
    const token = await t.centerApi.guildToken(guildId);
    expect((await list(token, 'no-reply')).map((c) => c.name)).toEqual(['no-reply']);
    const long = await t.api('GET', `/api/commands?prefix=${'a'.repeat(65)}`, { token });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('bad_request');
  });
});
