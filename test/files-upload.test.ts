import fs from 'node:fs';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { filePart, multipartBody, uploadStreamed, type PartSpec } from './helpers/multipart.js';

let t: TestNode;
let tiny: TestNode;
beforeAll(async () => {
  t = await startTestNode();
  tiny = await startTestNode({ env: { FABRIC_BACKEND_GUILD_FILE_MAX_BYTES: '1024' } });
});
afterAll(async () => {
  await t?.close();
  await tiny?.close();
});

const upload = (node: TestNode, token: string | undefined, m: { body: Uint8Array<ArrayBuffer>; contentType: string }) =>
  node.api('POST', '/api/files', { token, rawBody: m.body, headers: { 'content-type': m.contentType } });
const uploadParts = (node: TestNode, token: string, parts: PartSpec[]) => upload(node, token, multipartBody(parts));
const storedNames = (node: TestNode) => fs.readdirSync(node.node.ctx.config.fileDir);
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The node still takes an upload after a refused one (and the test leaves nothing behind). */
async function expectStillServing(node: TestNode, token: string) {
  const next = await upload(node, token, filePart('still served'));
  expect(next.status).toBe(201);
  await node.api('DELETE', next.body.file.url, { token });
}

describe('POST /api/files', () => {
  it('stores the single file part and answers 201 {file} with size, type, sha256 and expiry', async () => {
    const u = await t.centerApi.user('uploader');
    const r = await upload(t, u.token, filePart('hello, world', 'notes.txt', 'text/plain'));
    expect(r.status).toBe(201);
    const f = r.body.file;
    expect(f).toMatchObject({ name: 'notes.txt', size: 12, mime: 'text/plain', sha256: sha256('hello, world'), uploaderId: u.id, url: `/api/files/${f.id}` });
    expect(Date.parse(f.expiresAt) - Date.parse(f.createdAt)).toBe(7 * 24 * 3600 * 1000);
    expect(f.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('keeps the client name only as sanitised metadata and stores the bytes under a generated name', async () => {
    const u = await t.centerApi.user('uploader');
    const r = await upload(t, u.token, filePart('x', '../../etc/evil\u0007.txt'));
    expect(r.status).toBe(201);
    expect(r.body.file.name).toBe('evil.txt');
    for (const name of storedNames(t)) expect(name).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps the type essence in lower case, drops parameters, and uses application/octet-stream for a part without a type', async () => {
    const u = await t.centerApi.user('uploader');
    const typed = await upload(t, u.token, filePart('<p>', 'a.html', 'Text/HTML; charset=utf-8'));
    expect(typed.body.file.mime).toBe('text/html');
    const untyped = await uploadParts(t, u.token, [{ name: 'file', filename: 'data.bin', data: 'abc' }]);
    expect(untyped.status).toBe(201);
    expect(untyped.body.file.mime).toBe('application/octet-stream');
  });

  it('accepts an empty file', async () => {
    const u = await t.centerApi.user('uploader');
    const r = await upload(t, u.token, filePart('', 'empty.txt'));
    expect(r.status).toBe(201);
    expect(r.body.file).toMatchObject({ size: 0, sha256: sha256('') });
  });

  it('returns 401 unauthorized without a valid token', async () => {
    expect((await upload(t, undefined, filePart('x'))).body.error.code).toBe('unauthorized');
    const r = await upload(t, 'not-a-token', filePart('x'));
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  });

  it('returns 403 forbidden for a guild token (an upload belongs to a user)', async () => {
    const { guildId } = await seedGuild(t, 0);
    const token = await t.centerApi.guildToken(guildId);
    const r = await upload(t, token, filePart('x'));
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });

  it('returns 415 unsupported_media_type for a body that is not multipart/form-data', async () => {
    const u = await t.centerApi.user('uploader');
    const asJson = await t.api('POST', '/api/files', { token: u.token, body: { file: 'x' } });
    expect(asJson.status).toBe(415);
    expect(asJson.body.error.code).toBe('unsupported_media_type');
    const raw = await t.api('POST', '/api/files', { token: u.token, rawBody: 'x', headers: { 'content-type': 'application/octet-stream' } });
    expect(raw.status).toBe(415);
    const none = await t.api('POST', '/api/files', { token: u.token });
    expect(none.status).toBe(415);
    expect(none.body.error.code).toBe('unsupported_media_type');
  });

  it.each<[string, PartSpec[]]>([
    ['no part at all', []],
    ['a file part under another name', [{ name: 'upload', filename: 'a.txt', type: 'text/plain', data: 'x' }]],
    [
      'two file parts named file',
      [
        { name: 'file', filename: 'a.txt', type: 'text/plain', data: 'a' },
        { name: 'file', filename: 'b.txt', type: 'text/plain', data: 'b' },
      ],
    ],
    [
      'a file part and a text field',
      [
        { name: 'file', filename: 'a.txt', type: 'text/plain', data: 'a' },
        { name: 'comment', data: 'hi' },
      ],
    ],
    ['a text field named file', [{ name: 'file', data: 'just text' }]],
  ])('returns 400 bad_request for %s and leaves nothing on disk', async (_what, parts) => {
    const u = await tiny.centerApi.user('uploader');
    const before = storedNames(tiny);
    const r = await uploadParts(tiny, u.token, parts);
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('bad_request');
    expect(storedNames(tiny)).toEqual(before);
  });

  it('returns 400 bad_request for a truncated multipart body and for a missing boundary', async () => {
    const u = await tiny.centerApi.user('uploader');
    const whole = filePart('some bytes');
    const truncated = await upload(tiny, u.token, { body: whole.body.subarray(0, whole.body.length - 20), contentType: whole.contentType });
    expect(truncated.status).toBe(400);
    expect(truncated.body.error.code).toBe('bad_request');
    const noBoundary = await upload(tiny, u.token, { body: whole.body, contentType: 'multipart/form-data' });
    expect(noBoundary.status).toBe(400);
    expect(noBoundary.body.error.code).toBe('bad_request');
    expect(storedNames(tiny)).toEqual([]);
  });

  it('answers 400 for any extra part, whatever its transfer encoding, stores nothing and keeps serving', async () => {
    const u = await tiny.centerApi.user('uploader');
    for (const encoding of ['7bit', '8bit', 'base64', 'quoted-printable', 'x-unknown']) {
      const r = await uploadParts(tiny, u.token, [
        { name: 'note', headers: { 'Content-Transfer-Encoding': encoding }, data: 'hello' },
        { name: 'file', filename: 'a.txt', type: 'text/plain', data: 'abc' },
      ]);
      expect([encoding, r.status, r.body.error?.code]).toEqual([encoding, 400, 'bad_request']);
    }
    expect(storedNames(tiny)).toEqual([]);
    await expectStillServing(tiny, u.token);
  });

  it('takes a file part sent as binary, 7bit or 8bit as is, and refuses an encoded one (RFC 7578) with 400', async () => {
    const u = await tiny.centerApi.user('uploader');
    for (const encoding of ['binary', '7bit', '8bit']) {
      const r = await uploadParts(tiny, u.token, [{ name: 'file', filename: 'a.txt', type: 'text/plain', headers: { 'Content-Transfer-Encoding': encoding }, data: 'abc' }]);
      expect([encoding, r.status, r.body.file?.size, r.body.file?.sha256]).toEqual([encoding, 201, 3, sha256('abc')]);
      await tiny.api('DELETE', r.body.file.url, { token: u.token });
    }
    const encoded = await uploadParts(tiny, u.token, [
      { name: 'file', filename: 'a.txt', type: 'text/plain', headers: { 'Content-Transfer-Encoding': 'base64' }, data: Buffer.from('abc').toString('base64') },
    ]);
    expect(encoded.status).toBe(400);
    expect(encoded.body.error.code).toBe('bad_request');
    expect(storedNames(tiny)).toEqual([]);
  });

  it('answers 413 to part headers beyond the framing allowance in a chunked body, stores nothing and keeps serving', async () => {
    const u = await tiny.centerApi.user('uploader');
    const boundary = 'padded-boundary';
    // 4 MiB of one header line, sent chunked (no declared length to refuse up front).
    const r = await new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = http.request(`${tiny.url}/api/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${u.token}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
      });
      req.on('error', reject);
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nX-Pad: `);
      const block = Buffer.alloc(64 * 1024, 'a');
      for (let i = 0; i < 64; i++) req.write(block);
      req.end(`\r\nContent-Type: application/octet-stream\r\n\r\nabc\r\n--${boundary}--\r\n`);
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(storedNames(tiny)).toEqual([]);
    await expectStillServing(tiny, u.token);
  });

  it('accepts a file of exactly FILE_MAX_BYTES', async () => {
    const u = await tiny.centerApi.user('uploader');
    const r = await upload(tiny, u.token, filePart(new Uint8Array(1024).fill(7), 'exact.bin', 'application/octet-stream'));
    expect(r.status).toBe(201);
    expect(r.body.file.size).toBe(1024);
    const del = await tiny.api('DELETE', r.body.file.url, { token: u.token });
    expect(del.status).toBe(204);
  });

  it('accepts a chunked upload without a Content-Length', async () => {
    const u = await tiny.centerApi.user('uploader');
    const r = await uploadStreamed(tiny.url, u.token, 1000, { declareLength: false });
    expect(r.status).toBe(201);
    expect(r.body.file).toMatchObject({ size: 1000, sha256: r.sha256 });
    await tiny.api('DELETE', r.body.file.url, { token: u.token });
  });

  it('returns 413 payload_too_large one byte over FILE_MAX_BYTES and leaves nothing on disk', async () => {
    const u = await tiny.centerApi.user('uploader');
    const r = await upload(tiny, u.token, filePart(new Uint8Array(1025), 'over.bin', 'application/octet-stream'));
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(storedNames(tiny)).toEqual([]);
  });

  it('returns 413 before reading the body when its declared length cannot fit the limit', async () => {
    const u = await tiny.centerApi.user('uploader');
    const { contentType } = filePart('x');
    // Declares 100 MB, sends 1 KB and waits: only an answer given without the body settles this.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${tiny.url}/api/files`, {
        method: 'POST',
        agent: false,
        headers: { authorization: `Bearer ${u.token}`, 'content-type': contentType, 'content-length': 100 * 1024 * 1024 },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    expect(status).toBe(413);
    expect(storedNames(tiny)).toEqual([]);
  });

  it('returns 413 for a chunked upload far over the limit: the whole body is read, nothing is left on disk', async () => {
    const u = await tiny.centerApi.user('uploader');
    // Far more than socket buffers hold: the node must keep reading the refused body to its end.
    const r = await uploadStreamed(tiny.url, u.token, 40 * 1024 * 1024, { declareLength: false });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(storedNames(tiny)).toEqual([]);
    await expectStillServing(tiny, u.token);
  });
});
