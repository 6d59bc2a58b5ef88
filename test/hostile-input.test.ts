/**
 * Hostile input (api.md "Errors"): one pipeline for the router and every handler hosted alone
 * (405 with Allow, 404 JSON), request ids, the error JSON for requests Node's HTTP parser
 * refuses or whose target does not parse, bounds on every JSON body before any work, and
 * command specs that can always be rendered back. Real server on port 0, real HTTP and raw TCP.
 */
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import guildsCreate from '../handlers/guilds/create.js';
import guildMembersRemove from '../handlers/guilds/members-remove.js';
import messagesDelete from '../handlers/messages/delete.js';
import type { RealtimeApp } from '../realtime/app.js';
import { createInternalChannel } from '../realtime/internal-channel.js';
import { expectBadRequest, expectError } from './helpers/expect-error.js';
import { createChannel, emitAck, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';

let t: TestNode;
let owner: TestUser;
let member: TestUser;
let guildId: string;
beforeAll(async () => {
  t = await startTestNode();
  ({
    owner,
    members: [member],
    guildId,
  } = await seedGuild(t, 1));
});
afterAll(async () => t?.close());

/** `{"a": {"a": … 1}}` with `levels` objects. */
const nested = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = { a: v };
  return v;
};
/** The JSON text of `nested(levels)`, for depths JSON.stringify cannot reach. */
const nestedText = (levels: number) => '{"a":'.repeat(levels) + '1' + '}'.repeat(levels);
const json = { 'content-type': 'application/json' };
const memberIds = async () => (await t.api('GET', `/api/guilds/${guildId}/members`, { token: owner.token })).body.members.map((m: { userId: string }) => m.userId);
const guildCount = async (token: string) => (await t.api('GET', '/api/guilds', { token })).body.guilds.length;

describe('the routed server', () => {
  it('answers another method on a known path with 405 method_not_allowed and an Allow header', async () => {
    const res = await t.api('PUT', '/api/guilds', { token: owner.token });
    expectError(res, 405, 'method_not_allowed');
    expect(res.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'POST']);
    const one = await t.api('POST', `/api/guilds/${guildId}`, { token: owner.token, body: {} });
    expectError(one, 405, 'method_not_allowed');
    expect(one.headers.get('allow')?.split(', ').sort()).toEqual(['GET', 'HEAD', 'OPTIONS', 'PATCH']);
  });

  it('answers HEAD wherever GET is routed as the GET would, without the body', async () => {
    const health = await fetch(`${t.url}/api/health`, { method: 'HEAD' });
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toContain('application/json');
    expect(health.headers.get('x-request-id')).toBeTruthy();
    expect(await health.text()).toBe('');
    // The same checks as the GET: no token, 401; another guild's id, 404 (no body either).
    expect((await fetch(`${t.url}/api/guilds`, { method: 'HEAD' })).status).toBe(401);
    const mine = await fetch(`${t.url}/api/guilds/${guildId}`, { method: 'HEAD', headers: { authorization: `Bearer ${owner.token}` } });
    expect(mine.status).toBe(200);
    expect(await mine.text()).toBe('');
    expect((await fetch(`${t.url}/api/guilds/${guildId}`, { method: 'HEAD', headers: { authorization: `Bearer ${member.token}x` } })).status).toBe(401);
    // A path with no GET: 405, and Allow names no HEAD there.
    const noGet = await fetch(`${t.url}/api/guilds/${guildId}/members/${member.id}`, { method: 'HEAD', headers: { authorization: `Bearer ${owner.token}` } });
    expect(noGet.status).toBe(405);
    expect(noGet.headers.get('allow')?.split(', ').sort()).toEqual(['DELETE', 'OPTIONS', 'PATCH']);
  });

  it('answers an unknown path with 404 not_found as JSON, token or not', async () => {
    expectError(await t.api('GET', '/api/nothing-here'), 404, 'not_found');
    expectError(await t.api('POST', '/nope', { token: owner.token, body: {} }), 404, 'not_found');
  });

  it('puts a request id on every answer: the client one when acceptable, else a generated one', async () => {
    const given = await t.api('GET', '/api/guilds/none', { token: owner.token, headers: { 'x-request-id': 'trace-123' } });
    expect(given.status).toBe(404);
    expect(given.body.error.requestId).toBe('trace-123');
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    for (const bad of ['x'.repeat(129), 'has space']) {
      const res = await t.api('GET', '/api/guilds/none', { token: owner.token, headers: { 'x-request-id': bad } });
      expect(res.body.error.requestId).toMatch(/^[\x21-\x7e]{1,128}$/);
      expect(res.body.error.requestId).not.toBe(bad);
      expect(res.headers.get('x-request-id')).toBe(res.body.error.requestId);
    }
    const ok = await t.api('GET', '/api/health');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBeTruthy();
    const anonymous = await t.api('GET', '/api/guilds');
    expectError(anonymous, 401, 'unauthorized');
    expect(anonymous.body.error.requestId).toBe(anonymous.headers.get('x-request-id'));
  });
});

describe('a handler hosted alone', () => {
  const at = (method: string, path: string, token?: string) => new Request(`http://hosted.test${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers another method on its own path with 405 and Allow, and changes nothing', async () => {
    const res = await guildMembersRemove(at('GET', `/api/guilds/${guildId}/members/${member.id}`, owner.token), t.node.ctx);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE, OPTIONS');
    expect((await res.json()).error).toMatchObject({ code: 'method_not_allowed', requestId: expect.any(String) });
    expect(await memberIds()).toContain(member.id);

    const before = await guildCount(owner.token);
    const put = await guildsCreate(
      new Request('http://hosted.test/api/guilds', {
        method: 'PUT',
        headers: { authorization: `Bearer ${owner.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'not created' }),
      }),
      t.node.ctx,
    );
    expect(put.status).toBe(405);
    expect(await guildCount(owner.token)).toBe(before);
  });

  it('answers another path with 404 as JSON, a preflight with 204, and its own route as usual', async () => {
    const other = await guildMembersRemove(at('DELETE', `/api/channels/x/members/${member.id}`, owner.token), t.node.ctx);
    expect(other.status).toBe(404);
    expect((await other.json()).error.code).toBe('not_found');
    expect(await memberIds()).toContain(member.id);

    const pre = await messagesDelete(
      new Request('http://hosted.test/api/messages/m1', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'DELETE' } }),
      t.node.ctx,
    );
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://app.example');

    const ch = await createChannel(t, owner.token, { guildId, name: 'hosted', xType: 'general' });
    const posted = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'keep me' } });
    expect(posted.status).toBe(201);
    const getDelete = await messagesDelete(at('GET', `/api/messages/${posted.body.message.id}`, owner.token), t.node.ctx);
    expect(getDelete.status).toBe(405);
    expect((await t.api('GET', `/api/messages/${posted.body.message.id}`, { token: owner.token })).body.message.deletedAt ?? null).toBeNull();
    const removed = await guildMembersRemove(at('DELETE', `/api/guilds/${guildId}/members/${member.id}`, owner.token), t.node.ctx);
    expect(removed.status).toBe(204);
    expect(await memberIds()).not.toContain(member.id);
    await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [member.id] } });
  });
});

describe('requests that do not parse', () => {
  const port = () => new URL(t.url).port;
  const expectErrorJson = (res: Awaited<ReturnType<typeof rawRequest>>, status: number) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.json?.error).toMatchObject({ code: 'bad_request', requestId: expect.any(String) });
    expect(res.headers['x-request-id']).toBe(res.json.error.requestId);
    expect(res.body).not.toMatch(/at .*\.(js|ts)/);
  };

  it('answers a request target that is not a URL path (GET *) with 400 bad_request JSON', async () => {
    expectErrorJson(await rawRequest(Number(port()), `GET * HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nConnection: close\r\n\r\n`), 400);
  });

  it('answers what the HTTP parser refuses with the error JSON: 400, or 431 for oversized headers', async () => {
    const p = Number(port());
    expectErrorJson(await rawRequest(p, 'FROB /api/health HTTP/1.1\r\nHost: x\r\n\r\n'), 400);
    expectErrorJson(await rawRequest(p, Buffer.concat([Buffer.from('GET /api/h'), Buffer.from([0xc3, 0xa9]), Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n')])), 400);
    expectErrorJson(await rawRequest(p, `GET /api/health?q=${'a'.repeat(16 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`), 431);
    expectErrorJson(await rawRequest(p, `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`), 431);
    expectErrorJson(await rawRequest(p, 'POST /api/guilds HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), 400);
    expect((await t.api('GET', '/api/health')).status).toBe(200);
  });

  it('routes on the request target alone: a Host holding a path is refused with 400, and changes nothing', async () => {
    const p = Number(port());
    const auth = `authorization: Bearer ${owner.token}\r\n`;
    // Built as http://<Host><target>, this Host would have chosen the route.
    expectErrorJson(await rawRequest(p, `GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:${p}/api/guilds?\r\n${auth}Connection: close\r\n\r\n`), 400);
    expectErrorJson(await rawRequest(p, `DELETE /x HTTP/1.1\r\nHost: h/api/guilds/${guildId}/members/${member.id}?\r\n${auth}Connection: close\r\n\r\n`), 400);
    expect(await memberIds()).toContain(member.id);
    expectErrorJson(await rawRequest(p, `GET /api/health HTTP/1.1\r\nHost: a\\b\r\nConnection: close\r\n\r\n`), 400);
    // A plain authority, with or without a port, an IPv6 literal: served.
    for (const host of ['example.org', `127.0.0.1:${p}`, `[::1]:${p}`]) {
      expect((await rawRequest(p, `GET /api/health HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).status).toBe(200);
    }
  });

  it('serves an absolute-form target (RFC 9112) by its path, its authority in place of the Host', async () => {
    const p = Number(port());
    const res = await rawRequest(p, `GET http://127.0.0.1:${p}/api/guilds HTTP/1.1\r\nHost: other.example\r\nauthorization: Bearer ${owner.token}\r\nConnection: close\r\n\r\n`);
    expect(res.status).toBe(200);
    expect(res.json.guilds.map((g: { id: string }) => g.id)).toContain(guildId);
    const unknown = await rawRequest(p, `GET http://h/api/x/a?b/api/health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
    expect(unknown.status).toBe(404);
    expect(unknown.json?.error).toMatchObject({ code: 'not_found' });
  });

  it('reads repeated headers as one, joined as fetch does: two Authorization headers are no valid token (401), as under Bun.serve', async () => {
    const p = Number(port());
    const twice = await rawRequest(p, `GET /api/guilds HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${owner.token}\r\nauthorization: Bearer other\r\nConnection: close\r\n\r\n`);
    expect(twice.status).toBe(401);
    expect(twice.json?.error).toMatchObject({ code: 'unauthorized' });
    const once = await rawRequest(p, `GET /api/guilds HTTP/1.1\r\nHost: x\r\nauthorization: Bearer ${owner.token}\r\nConnection: close\r\n\r\n`);
    expect(once.status).toBe(200);
    expect((await rawRequest(p, `GET /api/health HTTP/1.1\r\nHost: x\r\nHost: y\r\nConnection: close\r\n\r\n`)).status).toBe(400);
  });

  it('answers what Node would answer with an empty body (no Host, an unknown Expect, CONNECT) with the error JSON', async () => {
    const p = Number(port());
    expectErrorJson(await rawRequest(p, 'GET /api/health HTTP/1.1\r\nConnection: close\r\n\r\n'), 400);
    const expectation = await rawRequest(p, `GET /api/health HTTP/1.1\r\nHost: x\r\nExpect: 417-nope\r\nConnection: close\r\n\r\n`);
    expect(expectation.status).toBe(417);
    expect(expectation.json?.error).toMatchObject({ code: 'bad_request', requestId: expect.any(String) });
    const connect = await rawRequest(p, `CONNECT 127.0.0.1:${p} HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\n\r\n`);
    expect(connect.status).toBe(405);
    expect(connect.json?.error).toMatchObject({ code: 'method_not_allowed', requestId: expect.any(String) });
    // HTTP/1.0 needs no Host.
    expect((await rawRequest(p, 'GET /api/health HTTP/1.0\r\n\r\n')).status).toBe(200);
  });

  it('serves a request with an Upgrade header off the realtime path as a plain one, and refuses one with a body', async () => {
    const p = Number(port());
    const h2c = await rawRequest(
      p,
      `GET /api/guilds HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nauthorization: Bearer ${owner.token}\r\n\r\n`,
    );
    expect(h2c.status).toBe(200);
    expect(h2c.json.guilds.map((g: { id: string }) => g.id)).toContain(guildId);
    const ch = await createChannel(t, owner.token, { guildId, name: 'upgrade-body', xType: 'general' });
    const body = JSON.stringify({ content: 'with an upgrade' });
    const posted = await rawRequest(
      p,
      `POST /api/channels/${ch.id}/messages HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\nauthorization: Bearer ${owner.token}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    expectErrorJson(posted, 400);
    expect((await t.api('GET', `/api/channels/${ch.id}/messages`, { token: owner.token })).body.messages).toEqual([]);
  });
});

describe('JSON bounds', () => {
  it('refuses a body nested deeper than 32 levels with 400 and stores nothing; 32 levels pass', async () => {
    const before = await guildCount(owner.token);
    expectError(await t.api('POST', '/api/guilds', { token: owner.token, body: { name: 'deep', extra: nested(32) } }), 400, 'bad_request');
    expectError(await t.api('POST', '/api/guilds', { token: owner.token, rawBody: '['.repeat(20_000) + ']'.repeat(20_000), headers: json }), 400, 'bad_request');
    expect(await guildCount(owner.token)).toBe(before);
    expect((await t.api('POST', '/api/guilds', { token: owner.token, body: { name: 'deep enough', extra: nested(31) } })).status).toBe(201);
  });

  it('refuses more than 100,000 values with 413', async () => {
    const res = await t.api('POST', '/api/guilds', { token: owner.token, body: { name: 'many', extra: new Array(100_000).fill(0) } });
    expectError(res, 413, 'payload_too_large');
  });

  it('lists at most 20 fields in details, and refuses an array over its maximum on its length alone', async () => {
    const many = await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: new Array(100).fill('') } });
    expectError(many, 400, 'bad_request');
    expect(many.body.error.details.length).toBeLessThanOrEqual(20);

    const ch = await createChannel(t, owner.token, { guildId, name: 'turns', xType: 'discuss' });
    const turn = await t.api('PUT', `/api/channels/${ch.id}/turn`, { token: owner.token, body: { order: new Array(90_000).fill(''), bypass: [] } });
    expectBadRequest(turn, 'order');
    expect(turn.body.error.details).toHaveLength(1);
    expect(JSON.stringify(turn.body).length).toBeLessThan(2000);

    const post = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'x', attachmentIds: new Array(90_000).fill('') } });
    expectBadRequest(post, 'attachmentIds');
    expect(JSON.stringify(post.body).length).toBeLessThan(2000);
    expect((await t.api('GET', `/api/channels/${ch.id}/messages`, { token: owner.token })).body.messages).toHaveLength(0);
  });
});

describe('a "__proto__" key in a body', () => {
  it('is an unknown field, ignored (api.md): nothing it names reaches what is stored, sent or answered', async () => {
    const ch = await createChannel(t, owner.token, { guildId, name: 'proto', xType: 'general', memberUserIds: [member.id] });
    const raw = '{"content":"plain","__proto__":{"authorId":"someone-else","wakeup":true,"seq":99},"mentions":{"__proto__":{"x":1}}}';
    const post = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, rawBody: raw, headers: json });
    expect(post.status).toBe(201);
    expect(post.body.message).toMatchObject({ content: 'plain', authorId: owner.id, seq: 1 });
    expect(Object.getPrototypeOf(post.body.message)).toBe(Object.prototype);
    const [stored] = (await t.api('GET', `/api/channels/${ch.id}/messages`, { token: owner.token })).body.messages;
    expect(stored).toMatchObject({ content: 'plain', authorId: owner.id, seq: 1 });
    expect(stored).not.toHaveProperty('wakeup');
  });
});

describe('PUT /api/commands and GET /api/commands with deep specs', () => {
  it('refuses a spec nested deeper than 16 levels (400) and one past the body bound, and keeps the catalog answering', async () => {
    const deep = `{"commands":[{"name":"deep","x":${nestedText(20_000)}}]}`;
    expectError(await t.api('PUT', '/api/commands', { token: owner.token, rawBody: deep, headers: json }), 400, 'bad_request');
    expectBadRequest(await t.api('PUT', '/api/commands', { token: owner.token, body: { commands: [{ name: 'deep', x: nested(16) }] } }), 'commands.0');
    const ok = await t.api('PUT', '/api/commands', { token: owner.token, body: { commands: [{ name: 'fine', x: nested(15) }] } });
    expect(ok.status).toBe(200);
    const list = await t.api('GET', '/api/commands', { token: member.token });
    expect(list.status).toBe(200);
    expect(list.body.commands.map((c: { name: string }) => c.name)).toContain('fine');
  });

  it('leaves a stored spec that cannot be rendered out of GET, and keeps it stored', async () => {
    const db = t.node.ctx.database.db;
    const deep = '{"name":"legacy","x":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
    await db.insertInto('commands').values({ user_id: member.id, name: 'legacy', description: '', spec: deep, size: deep.length }).execute();
    const list = await t.api('GET', '/api/commands', { token: owner.token });
    expect(list.status).toBe(200);
    const names = list.body.commands.map((c: { name: string }) => c.name);
    expect(names).toContain('fine');
    expect(names).not.toContain('legacy');
    expect(await db.selectFrom('commands').select('name').where('name', '=', 'legacy').executeTakeFirst()).toBeDefined();
  });
});

describe('socket event payloads', () => {
  it('refuses a payload nested deeper than 32 levels with bad_request, whatever else it holds', async () => {
    const ch = await createChannel(t, owner.token, { guildId, name: 'sockets', xType: 'general', isPublic: true });
    const socket = await t.socket(owner.token);
    expect(await emitAck(socket, 'join_channel', { channelId: ch.id, extra: nested(31) })).toEqual({ ok: true, pos: expect.any(Number) });
    const deep = await emitAck(socket, 'join_channel', { channelId: ch.id, extra: nested(32) });
    expect(deep).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(socket.connected).toBe(true);
  });

  it('answers an event the contract does not know, sent with an ack, with bad_request instead of leaving the ack waiting', async () => {
    const socket = await t.socket(owner.token);
    for (const event of ['nope', 'toString', '__proto__', 'x'.repeat(1000)]) {
      const ack = await emitAck<any>(socket, event, { channelId: 'c' });
      expect(ack).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(JSON.stringify(ack).length).toBeLessThan(300);
    }
    expect(socket.connected).toBe(true);
    const ch = await createChannel(t, owner.token, { guildId, name: 'after-unknown', xType: 'general' });
    expect(await emitAck(socket, 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: 0 });
  });
});

describe('socket.io namespaces', () => {
  it('refuses the main namespace / (connect_error not_found) and serves /realtime alone', async () => {
    const main = ioClient(t.url, { transports: ['websocket'], reconnection: false, auth: {} });
    try {
      const refusal = await new Promise<Error>((resolve, reject) => {
        main.on('connect_error', resolve);
        main.on('connect', () => reject(new Error('the main namespace accepted a socket without a token')));
      });
      expect(refusal.message).toBe('not_found');
      expect(main.connected).toBe(false);
    } finally {
      main.close();
    }
    const other = ioClient(`${t.url}/elsewhere`, { transports: ['websocket'], reconnection: false, auth: { token: owner.token } });
    try {
      expect((await new Promise<Error>((resolve) => other.on('connect_error', resolve))).message).toBe('Invalid namespace');
    } finally {
      other.close();
    }
    expect((await t.socket(owner.token)).connected).toBe(true);
  });
});

describe("engine.io's refusals on the realtime path", () => {
  const eio = (query: string, init: RequestInit = {}) => fetch(`${t.url}/socket.io/?${query}`, init);
  /** The error JSON of api.md, with its request id in the body and the header. */
  async function expectErrorJson(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    const body = await res.json();
    expect(body).toEqual({ error: { code, message: expect.any(String), requestId: expect.any(String) } });
    expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
    return body;
  }

  it('answers an unknown transport, an unknown session id, a handshake that is not a GET and protocol 3 with 400 bad_request JSON', async () => {
    await expectErrorJson(await eio('EIO=4&transport=carrier-pigeon'), 400, 'bad_request');
    await expectErrorJson(await eio('EIO=4&transport=polling&sid=no-such-session'), 400, 'bad_request');
    await expectErrorJson(await eio('EIO=4&transport=polling', { method: 'POST', body: 'x' }), 400, 'bad_request');
    await expectErrorJson(await eio('EIO=3&transport=polling'), 400, 'bad_request');
    await expectErrorJson(await eio('EIO=4&transport=websocket'), 400, 'bad_request'); // websocket without an Upgrade
    const traced = await expectErrorJson(await eio('EIO=4&transport=nope', { headers: { 'x-request-id': 'trace-eio' } }), 400, 'bad_request');
    expect(traced.error.requestId).toBe('trace-eio');
  });

  it('answers a refused websocket upgrade with the error JSON too, and keeps serving sockets', async () => {
    const upgrade = (query: string) =>
      rawRequest(
        Number(new URL(t.url).port),
        `GET /socket.io/?${query} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
    for (const query of ['EIO=4&transport=carrier-pigeon', 'EIO=4&transport=websocket&sid=no-such-session']) {
      const res = await upgrade(query);
      expect(res.status, query).toBe(400);
      expect(res.json, query).toEqual({ error: { code: 'bad_request', message: expect.any(String), requestId: expect.any(String) } });
    }
    expect((await t.socket(owner.token)).connected).toBe(true);
  });
});

describe('the internal channel with hostile bodies', () => {
  const secret = 'internal-test-secret';
  const call = (body: string) =>
    createInternalChannel(
      (t.node as unknown as { realtime: RealtimeApp }).realtime,
      secret,
    )(new Request('http://internal.test/internal/emit', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body }));

  it('refuses event data nested past the bound with 400 JSON, and takes data of 32 levels', async () => {
    const emit = (dataText: string) => `{"emits":[{"to":{"channel":"c-none"},"event":"message.created","data":{"d":${dataText}}}]}`;
    const deep = await call(emit(nestedText(5000)));
    expect(deep.status).toBe(400);
    expect((await deep.json()).error).toMatchObject({ code: 'bad_request', requestId: expect.any(String) });
    expect((await call(emit(nestedText(31)))).status).toBe(202);
    const tooMany = await call(JSON.stringify({ emits: new Array(10_001).fill({ to: { channel: 'c' }, event: 'e', data: {} }) }));
    expect(tooMany.status).toBe(400);
  });
});
