/**
 * The declaration layer (lib/http/handler.ts): an endpoint declared with an access policy and
 * query/body schemas answers in api.md's order of checks (401, 404, 403, 409, then
 * 400/413/415), wherever its target id is named (path, query or body); `guard` answers
 * between the policy and the input; `accessCheck: 'on-refusal'` resolves the policy only for a
 * refused body; `run` gets the parsed input; the route doc comes from the same declaration.
 * Declared handlers are called directly with a real node's context (real database, Center).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { forbidden } from '../lib/errors.js';
import { channelReader } from '../lib/channels/channel-access-policies.js';
import { guildMember } from '../lib/guilds/guild-access-policies.js';
import { open, userOnly } from '../lib/http/access-policy.js';
import { defineHandler, type Handler } from '../lib/http/handler.js';
import { channelAuthor } from '../lib/messages/message-access-policies.js';
import { createChannel, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';

let t: TestNode;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let guildId: string;
let channelId: string;

beforeAll(async () => {
  t = await startTestNode();
  const seeded = await seedGuild(t, 1);
  owner = seeded.owner;
  member = seeded.members[0];
  guildId = seeded.guildId;
  outsider = await t.centerApi.user('outsider');
  channelId = (await createChannel(t, owner.token, { guildId, name: 'c', xType: 'general', isPublic: true })).id;
}, 60_000);
afterAll(async () => t?.close());

interface Call {
  method?: string;
  path: string;
  token?: TestUser;
  body?: string;
  contentType?: string;
}

/** Calls a declared handler the way the pipeline would, with the node's context. */
async function call(handler: Handler, c: Call): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (c.token) headers.authorization = `Bearer ${c.token.token}`;
  if (c.body !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
  const res = await handler(new Request(`http://node.test${c.path}`, { method: c.method ?? handler.route.method, headers, body: c.body }), t.node.ctx);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
const codeOf = (r: { status: number; body: any }) => `${r.status} ${r.body?.error?.code ?? 'ok'}`;

describe('a declared endpoint about a channel in its path', () => {
  const runs: unknown[] = [];
  const handler = defineHandler({
    method: 'POST',
    path: '/api/test/:channelId/things',
    access: channelReader,
    query: z.object({ mode: z.enum(['a', 'b']).default('a') }),
    body: z.object({ n: z.number().int(), label: z.string().default('none') }),
    doc: { tag: 'Test', summary: 'a test endpoint', success: { 200: '{}' }, errors: {} },
    run: async (input) => {
      runs.push(input);
      return { n: input.body.n, label: input.body.label, mode: input.query.mode, channel: input.access.channel.id, who: input.principal.kind };
    },
  });

  it('answers 401, then 404, then 400/413/415, as api.md orders them', async () => {
    const bad = '{"n": "not a number"}';
    expect(codeOf(await call(handler, { path: '/api/test/nope/things', body: bad }))).toBe('401 unauthorized');
    expect(codeOf(await call(handler, { path: '/api/test/nope/things', token: member, body: bad }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/things`, token: outsider, body: bad }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/things`, token: member, body: bad }))).toBe('400 bad_request');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/things`, token: member, body: '{"n": 1', contentType: 'application/json' }))).toBe('400 bad_request');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/things`, token: member, body: 'n=1', contentType: 'text/plain' }))).toBe('415 unsupported_media_type');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/things`, token: member, body: `{"n": 1, "pad": "${'x'.repeat(1024 * 1024)}"}` }))).toBe(
      '413 payload_too_large',
    );
    expect(codeOf(await call(handler, { path: '/api/test/nope/things', token: member, body: 'n=1', contentType: 'text/plain' }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/things?mode=c`, token: member, body: '{"n": 1}' }))).toBe('400 bad_request');
    expect(runs).toHaveLength(0);
  });

  it('runs with the parsed query and body, the params, the principal and the resolved channel view', async () => {
    const r = await call(handler, { path: `/api/test/${channelId}/things?mode=b`, token: member, body: '{"n": 7, "extra": true}' });
    expect(r).toEqual({ status: 200, body: { n: 7, label: 'none', mode: 'b', channel: channelId, who: 'user' } });
    const input = runs.at(-1) as { params: Record<string, string>; access: { isMember: boolean; canAdmin: boolean }; body: object };
    expect(input.params).toEqual({ channelId });
    expect(input.access).toMatchObject({ isMember: false, canAdmin: false });
    expect(input.body).toEqual({ n: 7, label: 'none' });
  });

  it('takes its route doc from the declaration: token needed, who from the policy, the schemas it validates with', () => {
    expect(handler.route).toMatchObject({ method: 'POST', path: '/api/test/:channelId/things', auth: true });
    expect(handler.route.doc.who).toBe(channelReader.who);
    expect(Object.keys((handler.route.doc.body as z.ZodObject).shape)).toEqual(['n', 'label']);
    expect(Object.keys((handler.route.doc.query as z.ZodObject).shape)).toEqual(['mode']);
  });

  it('answers another method 405 and another path 404, as the router', async () => {
    const wrongMethod = await call(handler, { method: 'GET', path: `/api/test/${channelId}/things`, token: member });
    expect(codeOf(wrongMethod)).toBe('405 method_not_allowed');
    expect(codeOf(await call(handler, { path: '/api/elsewhere', token: member, body: '{}' }))).toBe('404 not_found');
  });
});

describe('a declared endpoint about a guild named in its body', () => {
  const handler = defineHandler({
    method: 'POST',
    path: '/api/test/things',
    access: guildMember,
    body: z.object({ guildId: z.string().min(1).max(64), name: z.string().min(1) }),
    doc: { tag: 'Test', summary: 'a test endpoint', success: { 201: '{}' }, errors: {} },
    run: async ({ access, body }) => ({ role: access.role, name: body.name }),
  });

  it('answers 404 for a guild the caller is not in before the rest of the body is validated', async () => {
    expect(codeOf(await call(handler, { path: '/api/test/things', token: outsider, body: JSON.stringify({ guildId, name: '' }) }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: '/api/test/things', token: member, body: JSON.stringify({ guildId: 'no-such-guild' }) }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: '/api/test/things', token: member, body: JSON.stringify({ guildId, name: '' }) }))).toBe('400 bad_request');
    expect(codeOf(await call(handler, { path: '/api/test/things', token: member, body: JSON.stringify({ guildId: 42, name: 'x' }) }))).toBe('400 bad_request');
    expect(codeOf(await call(handler, { path: '/api/test/things', token: member, body: '{"guildId": ' }))).toBe('400 bad_request');
    expect(codeOf(await call(handler, { path: '/api/test/things', body: JSON.stringify({ guildId, name: 'x' }) }))).toBe('401 unauthorized');
  });

  it('runs with the standing the policy resolved', async () => {
    expect(await call(handler, { path: '/api/test/things', token: owner, body: JSON.stringify({ guildId, name: 'x' }) })).toEqual({
      status: 200,
      body: { role: 'owner', name: 'x' },
    });
  });
});

describe('a declared endpoint about a guild named in its query', () => {
  const handler = defineHandler({
    method: 'GET',
    path: '/api/test/things',
    access: guildMember,
    query: z.object({ guildId: z.string().min(1).max(64) }),
    doc: { tag: 'Test', summary: 'a test endpoint', success: { 200: '{}' }, errors: {} },
    run: async ({ access }) => ({ role: access.role }),
  });

  it('validates the query, then answers 404 for a guild the caller is not in', async () => {
    expect(codeOf(await call(handler, { path: '/api/test/things', token: member }))).toBe('400 bad_request');
    expect(codeOf(await call(handler, { path: `/api/test/things?guildId=${guildId}`, token: outsider }))).toBe('404 not_found');
    expect(await call(handler, { path: `/api/test/things?guildId=${guildId}`, token: member })).toEqual({ status: 200, body: { role: 'member' } });
  });
});

describe('guard, on-refusal access, and policies without a target', () => {
  it('runs guard after the policy (404 first) and before the body (403 before 400)', async () => {
    const handler = defineHandler({
      method: 'PUT',
      path: '/api/test/:channelId',
      access: channelReader,
      guard: ({ access: view }) => {
        if (!view.canAdmin) throw forbidden('admins only');
      },
      body: z.object({ n: z.number() }),
      doc: { tag: 'Test', summary: 'a test endpoint', success: { 200: '{}' }, errors: {} },
      run: async ({ body }) => body,
    });
    expect(codeOf(await call(handler, { path: '/api/test/nope', token: member, body: '{}' }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}`, token: member, body: '{}' }))).toBe('403 forbidden');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}`, token: owner, body: '{}' }))).toBe('400 bad_request');
    expect(await call(handler, { path: `/api/test/${channelId}`, token: owner, body: '{"n": 1}' })).toEqual({ status: 200, body: { n: 1 } });
  });

  it("with accessCheck 'on-refusal', resolves the policy only when the body is refused", async () => {
    const seen: unknown[] = [];
    const handler = defineHandler({
      method: 'POST',
      path: '/api/test/:channelId/posts',
      access: channelAuthor,
      accessCheck: 'on-refusal',
      body: z.object({ text: z.string().min(1) }),
      doc: { tag: 'Test', summary: 'a test endpoint', success: { 200: '{}' }, errors: {} },
      run: async ({ access, body }) => {
        seen.push(access);
        return body;
      },
    });
    // A refused body: the policy answers first (404 unknown, 403 not a member), else the body's 400.
    expect(codeOf(await call(handler, { path: '/api/test/nope/posts', token: member, body: '{}' }))).toBe('404 not_found');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/posts`, token: member, body: '{}' }))).toBe('403 forbidden');
    expect(codeOf(await call(handler, { path: `/api/test/${channelId}/posts`, token: owner, body: '{}' }))).toBe('400 bad_request');
    // A valid body: run is called with no access resolved (it makes the checks itself).
    expect(await call(handler, { path: '/api/test/nope/posts', token: member, body: '{"text": "x"}' })).toEqual({ status: 200, body: { text: 'x' } });
    expect(seen).toEqual([undefined]);
  });

  it('open needs no token; userOnly answers a guild token 403 before its body', async () => {
    const health = defineHandler({
      method: 'GET',
      path: '/api/test/open',
      access: open,
      doc: { tag: 'Test', summary: 'a test endpoint', success: { 200: '{}' }, errors: {} },
      run: async ({ principal }) => ({ principal }),
    });
    expect(health.route.auth).toBe(false);
    expect(await call(health, { path: '/api/test/open' })).toEqual({ status: 200, body: { principal: null } });

    const users = defineHandler({
      method: 'POST',
      path: '/api/test/users',
      access: userOnly,
      body: z.object({ n: z.number() }),
      doc: { tag: 'Test', summary: 'a test endpoint', who: 'narrowed by the endpoint', success: { 200: '{}' }, errors: {} },
      run: async ({ principal }) => ({ userId: principal.userId }),
    });
    expect(users.route.doc.who).toBe('narrowed by the endpoint');
    const guildToken = await t.centerApi.guildToken(guildId);
    const res = await users(
      new Request('http://node.test/api/test/users', { method: 'POST', headers: { authorization: `Bearer ${guildToken}`, 'content-type': 'application/json' }, body: '{' }),
      t.node.ctx,
    );
    expect(res.status).toBe(403);
    expect(await call(users, { path: '/api/test/users', token: member, body: '{"n": 1}' })).toEqual({ status: 200, body: { userId: member.id } });
  });

  it('refuses a declaration whose policy is about an id it does not name', () => {
    expect(() =>
      defineHandler({
        method: 'GET',
        path: '/api/test/nothing',
        access: channelReader,
        doc: { tag: 'Test', summary: 'a test endpoint', success: { 200: '{}' }, errors: {} },
        run: async () => ({}),
      }),
    ).toThrow(/channelId/);
  });
});
