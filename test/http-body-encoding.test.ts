/**
 * Bodies the node cannot read as sent (api.md "Errors": 415 `unsupported_media_type`): a
 * `Content-Encoding` other than identity (JSON and uploads alike, nothing stored), a JSON
 * body declared in a charset other than UTF-8. Checked after 401/404/403 and before any
 * work on the body; the same answer from the routed server and a handler hosted alone.
 * Real server on port 0, real HTTP.
 */
import fs from 'node:fs';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import guildsCreate from '../handlers/guilds/create.js';
import { expectError } from './helpers/expect-error.js';
import { createChannel, seedGuild, startTestNode, type ApiResponse, type TestNode, type TestUser } from './helpers/harness.js';
import { filePart } from './helpers/multipart.js';

let t: TestNode;
let owner: TestUser;
let outsider: TestUser;
let guildId: string;
beforeAll(async () => {
  t = await startTestNode();
  ({ owner, guildId } = await seedGuild(t, 0));
  outsider = await t.centerApi.user('outsider');
});
afterAll(async () => t?.close());

const guildNames = async () => (await t.api('GET', '/api/guilds', { token: owner.token })).body.guilds.map((g: { name: string }) => g.name);

/** A 415 in the error JSON, with a request id. */
function expectUnsupported(res: ApiResponse): void {
  expectError(res, 415, 'unsupported_media_type');
  expect(res.body.error.requestId).toEqual(expect.any(String));
}

describe('a JSON body with a Content-Encoding', () => {
  const codings: [string, (b: Buffer) => Buffer<ArrayBuffer>][] = [
    ['gzip', gzipSync],
    ['br', brotliCompressSync],
    ['deflate', deflateSync],
    ['GZIP', gzipSync],
    ['gzip, identity', gzipSync],
  ];

  it.each(codings)('is refused with 415 before it is read (%s), says identity is accepted, and creates nothing', async (coding, encode) => {
    const name = `compressed ${coding}`;
    const res = await t.api('POST', '/api/guilds', {
      token: owner.token,
      rawBody: encode(Buffer.from(JSON.stringify({ name }))),
      headers: { 'content-type': 'application/json', 'content-encoding': coding },
    });
    expectUnsupported(res);
    expect(res.headers.get('accept-encoding')).toBe('identity');
    expect(await guildNames()).not.toContain(name);
  });

  it('is refused even when its bytes happen to be plain JSON (the header decides), and taken when the coding is identity', async () => {
    const labelled = (coding: string) =>
      t.api('POST', '/api/guilds', {
        token: owner.token,
        rawBody: JSON.stringify({ name: `labelled ${coding}` }),
        headers: { 'content-type': 'application/json', 'content-encoding': coding },
      });
    expectUnsupported(await labelled('gzip'));
    expect(await guildNames()).not.toContain('labelled gzip');
    for (const coding of ['identity', 'Identity', '']) expect((await labelled(coding)).status, coding).toBe(201);
  });

  it('answers 401 and 404 before the 415 (api.md order)', async () => {
    const gzipped = gzipSync(Buffer.from(JSON.stringify({ content: 'hi' })));
    const headers = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const ch = await createChannel(t, owner.token, { guildId, name: 'order', xType: 'general' });
    expectError(await t.api('POST', `/api/channels/${ch.id}/messages`, { rawBody: gzipped, headers }), 401, 'unauthorized');
    expectError(await t.api('POST', `/api/channels/${ch.id}/messages`, { token: outsider.token, rawBody: gzipped, headers }), 404, 'not_found');
    expectUnsupported(await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, rawBody: gzipped, headers }));
    expect((await t.api('GET', `/api/channels/${ch.id}/messages`, { token: owner.token })).body.messages).toEqual([]);
    expectError(await t.api('PATCH', `/api/guilds/${guildId}`, { token: outsider.token, rawBody: gzipped, headers }), 404, 'not_found');
  });
});

describe('a JSON body in a charset other than UTF-8', () => {
  it('is refused with 415 for latin1 and utf-16 and stores nothing; UTF-8 named in any case, quoted or not, or no charset, is taken', async () => {
    const refused: [string, Buffer<ArrayBuffer>][] = [
      ['application/json; charset=latin1', Buffer.from(JSON.stringify({ name: 'Café latin1' }), 'latin1')],
      ['application/json; charset=ISO-8859-1', Buffer.from(JSON.stringify({ name: 'Café iso' }), 'latin1')],
      ['application/json; charset=utf-16', Buffer.from(JSON.stringify({ name: 'utf16 guild' }), 'utf16le')],
      ['application/json;charset="utf-16le"', Buffer.from(JSON.stringify({ name: 'utf16 quoted' }), 'utf16le')],
    ];
    for (const [type, bytes] of refused) {
      expectUnsupported(await t.api('POST', '/api/guilds', { token: owner.token, rawBody: bytes, headers: { 'content-type': type } }));
    }
    expect((await guildNames()).filter((n: string) => /latin1|iso|utf16|Caf/.test(n))).toEqual([]);

    const taken = ['application/json; charset=utf-8', 'application/json; charset=UTF-8', 'application/json;charset="utf-8"', 'application/json; charset=utf8', 'application/json'];
    for (const type of taken) {
      const name = `Café ${type}`;
      const res = await t.api('POST', '/api/guilds', { token: owner.token, rawBody: JSON.stringify({ name }), headers: { 'content-type': type } });
      expect(res.status, type).toBe(201);
      expect(res.body.guild.name).toBe(name);
    }
  });
});

describe('an upload with a Content-Encoding', () => {
  it('is refused with 415, nothing is stored, and the node takes the next upload', async () => {
    const before = fs.readdirSync(t.node.ctx.config.fileDir);
    const { body, contentType } = filePart('compressed file content', 'c.txt');
    const res = await t.api('POST', '/api/files', { token: owner.token, rawBody: gzipSync(body), headers: { 'content-type': contentType, 'content-encoding': 'gzip' } });
    expectUnsupported(res);
    expect(res.headers.get('accept-encoding')).toBe('identity');
    expect(fs.readdirSync(t.node.ctx.config.fileDir)).toEqual(before);

    const plain = filePart('plain file content', 'p.txt');
    const next = await t.api('POST', '/api/files', { token: owner.token, rawBody: plain.body, headers: { 'content-type': plain.contentType } });
    expect(next.status).toBe(201);
  });
});

describe('a handler hosted alone', () => {
  it('answers a compressed body and a latin1 body with the same 415 error JSON', async () => {
    const post = (headers: Record<string, string>, body: BodyInit) =>
      guildsCreate(new Request('http://hosted.test/api/guilds', { method: 'POST', headers: { authorization: `Bearer ${owner.token}`, ...headers }, body }), t.node.ctx);
    for (const res of [
      await post({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(Buffer.from('{"name":"hosted gzip"}'))),
      await post({ 'content-type': 'application/json; charset=latin1' }, Buffer.from('{"name":"hosted Café"}', 'latin1')),
    ]) {
      expect(res.status).toBe(415);
      expect((await res.json()).error).toMatchObject({ code: 'unsupported_media_type', requestId: expect.any(String) });
    }
    expect(await guildNames()).not.toContain('hosted gzip');
  });
});
