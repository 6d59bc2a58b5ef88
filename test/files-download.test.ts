import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { filePart } from './helpers/multipart.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

const CONTENT = 'The quick brown fox jumps over the lazy dog';

async function uploadAs(user: TestUser, data: string | Uint8Array = CONTENT, name = 'fox.txt', type = 'text/plain') {
  const m = filePart(data, name, type);
  const r = await t.api('POST', '/api/files', { token: user.token, rawBody: m.body, headers: { 'content-type': m.contentType } });
  if (r.status !== 201) throw new Error(`upload failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.file as { id: string; url: string; sha256: string; size: number };
}

const get = (url: string, token?: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(t.url + url, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });

async function expectNotFound(url: string, token: string) {
  const r = await get(url, token);
  expect(r.status).toBe(404);
  expect((await r.json()).error.code).toBe('not_found');
}

/** A guild (owner + 2 members) with a private channel holding a message that attaches an upload of members[0]. */
async function attachedInPrivateChannel() {
  const g = await seedGuild(t, 3);
  const [author, channelMate, outsider] = g.members;
  const ch = await createChannel(t, g.owner.token, { guildId: g.guildId, name: 'private', xType: 'general', memberUserIds: [author.id, channelMate.id] });
  const file = await uploadAs(author);
  const m = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: author.token, body: { content: 'see attached', attachmentIds: [file.id] } });
  expect(m.status).toBe(201);
  return { ...g, author, channelMate, outsider, channelId: ch.id, messageId: m.body.message.id as string, file };
}

describe('GET /api/files/:fileId', () => {
  it('returns the bytes to the uploader with a Bearer token and with ?access_token=', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const bearer = await get(f.url, u.token);
    expect(bearer.status).toBe(200);
    expect(await bearer.text()).toBe(CONTENT);
    const query = await get(`${f.url}?access_token=${encodeURIComponent(u.token)}`);
    expect(query.status).toBe(200);
    expect(await query.text()).toBe(CONTENT);
  });

  it('sends the safe headers: type, length, disposition, nosniff, private caching, ETag, byte ranges', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const r = await get(f.url, u.token);
    expect(r.headers.get('content-type')).toBe('text/plain');
    expect(r.headers.get('content-length')).toBe(String(CONTENT.length));
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="fox.txt"; filename*=UTF-8''fox.txt`);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('cache-control')).toBe('private');
    expect(r.headers.get('etag')).toBe(`"${f.sha256}"`);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    await r.body?.cancel();
  });

  it('returns 401 unauthorized without a token or with an invalid query token', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const none = await get(f.url);
    expect(none.status).toBe(401);
    expect((await none.json()).error.code).toBe('unauthorized');
    const bad = await get(`${f.url}?access_token=nope`);
    expect(bad.status).toBe(401);
    expect((await bad.json()).error.code).toBe('unauthorized');
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const r = await get(f.url, u.token, {}, 'HEAD');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(CONTENT.length));
    expect(r.headers.get('etag')).toBe(`"${f.sha256}"`);
    expect(await r.text()).toBe('');
  });

  it('returns 206 with the first bytes for Range: bytes=0-8', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const r = await get(f.url, u.token, { range: 'bytes=0-8' });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes 0-8/${CONTENT.length}`);
    expect(r.headers.get('content-length')).toBe('9');
    expect(await r.text()).toBe('The quick');
  });

  it('returns 206 with the last bytes for a suffix range and the rest for an open range', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const suffix = await get(f.url, u.token, { range: 'bytes=-3' });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes ${CONTENT.length - 3}-${CONTENT.length - 1}/${CONTENT.length}`);
    expect(await suffix.text()).toBe('dog');
    const open = await get(f.url, u.token, { range: 'bytes=40-' });
    expect(open.status).toBe(206);
    expect(await open.text()).toBe('dog');
  });

  it('returns 416 with Content-Range bytes */size when the range is unsatisfiable', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const r = await get(f.url, u.token, { range: `bytes=${CONTENT.length}-` });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe(`bytes */${CONTENT.length}`);
    expect(r.headers.get('etag')).toMatch(/^"/);
    expect(r.headers.get('content-type')).toContain('application/json');
    expect(r.headers.get('content-disposition')).toBeNull();
    const body = await r.json();
    expect(body.error.code).toBe('bad_request');
    // The error's request id is the answer's (api.md "Errors").
    expect(body.error.requestId).toBe(r.headers.get('x-request-id'));
  });

  it('serves the whole file (200) for several ranges, and for a range whose If-Range names other bytes', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const several = await get(f.url, u.token, { range: 'bytes=0-1,4-5' });
    expect(several.status).toBe(200);
    expect(await several.text()).toBe(CONTENT);
    const stale = await get(f.url, u.token, { range: 'bytes=0-1', 'if-range': '"stale"' });
    expect(stale.status).toBe(200);
    expect(await stale.text()).toBe(CONTENT);
    const fresh = await get(f.url, u.token, { range: 'bytes=0-2', 'if-range': `"${f.sha256}"` });
    expect(fresh.status).toBe(206);
    expect(await fresh.text()).toBe('The');
  });

  it('returns 304 without a body when If-None-Match carries the ETag', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const r = await get(f.url, u.token, { 'if-none-match': `"${f.sha256}"` });
    expect(r.status).toBe(304);
    expect(r.headers.get('etag')).toBe(`"${f.sha256}"`);
    expect(await r.text()).toBe('');
  });

  it.each([
    ['page.html', 'text/html', '<script>alert(1)</script>'],
    ['drawing.svg', 'image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ['doc.xhtml', 'application/xhtml+xml', '<html xmlns="http://www.w3.org/1999/xhtml"/>'],
  ])('never serves %s (%s) as active content', async (name, type, data) => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u, data, name, type);
    const r = await get(f.url, u.token);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.headers.get('content-security-policy')).toBe('sandbox');
    expect(r.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await r.text()).toBe(data);
  });

  it('shows images and PDFs inline, with the original name encoded per RFC 6266', async () => {
    const u = await t.centerApi.user('uploader');
    const png = await uploadAs(u, 'PNGDATA', 'Straße.png', 'image/png');
    const r = await get(png.url, u.token);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('content-disposition')).toBe(`inline; filename="Stra_e.png"; filename*=UTF-8''Stra%C3%9Fe.png`);
    const pdf = await uploadAs(u, '%PDF-1.4', 'report.pdf', 'application/pdf');
    const p = await get(pdf.url, u.token);
    expect(p.headers.get('content-disposition')).toMatch(/^inline;/);
    await r.body?.cancel();
    await p.body?.cancel();
  });

  it('lets a channel member download a file attached to a message in the channel', async () => {
    const s = await attachedInPrivateChannel();
    const r = await get(s.file.url, s.channelMate.token);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(CONTENT);
  });

  it('lets the guild owner and the guild token download it from a private channel they are not members of', async () => {
    const s = await attachedInPrivateChannel();
    expect((await get(s.file.url, s.owner.token)).status).toBe(200);
    const guildToken = await t.centerApi.guildToken(s.guildId);
    const r = await get(`${s.file.url}?access_token=${encodeURIComponent(guildToken)}`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(CONTENT);
  });

  it('lets a guild member who reads a public channel download its attachments', async () => {
    const g = await seedGuild(t, 2);
    const [author, reader] = g.members;
    const ch = await createChannel(t, g.owner.token, { guildId: g.guildId, name: 'public', xType: 'general', isPublic: true, memberUserIds: [author.id] });
    const file = await uploadAs(author);
    const m = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: author.token, body: { content: '', attachmentIds: [file.id] } });
    expect(m.status).toBe(201);
    expect((await get(file.url, reader.token)).status).toBe(200);
  });

  it('returns 404 to an unrelated user, a guild member outside the private channel and another guild token', async () => {
    const s = await attachedInPrivateChannel();
    const stranger = await t.centerApi.user('stranger');
    await expectNotFound(s.file.url, stranger.token);
    await expectNotFound(s.file.url, s.outsider.token);
    const other = await seedGuild(t, 0);
    await expectNotFound(s.file.url, await t.centerApi.guildToken(other.guildId));
  });

  it('returns 404 to channel readers once the attaching message is deleted, while the uploader still gets it', async () => {
    const s = await attachedInPrivateChannel();
    const del = await t.api('DELETE', `/api/messages/${s.messageId}`, { token: s.author.token });
    expect(del.status).toBe(204);
    await expectNotFound(s.file.url, s.channelMate.token);
    expect((await get(s.file.url, s.author.token)).status).toBe(200);
  });

  it('returns 404 to a channel member once removed from the guild', async () => {
    const s = await attachedInPrivateChannel();
    const r = await t.api('DELETE', `/api/guilds/${s.guildId}/members/${s.channelMate.id}`, { token: s.owner.token });
    expect(r.status).toBe(204);
    await expectNotFound(s.file.url, s.channelMate.token);
  });

  it('returns 404 for an expired file, even to its uploader', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    await t.node.ctx.database.db
      .updateTable('files')
      .set({ expires_at: Date.now() - 1 })
      .where('id', '=', f.id)
      .execute();
    await expectNotFound(f.url, u.token);
  });

  it('returns 404 for an unknown id and for a file whose bytes are missing on disk', async () => {
    const u = await t.centerApi.user('uploader');
    await expectNotFound('/api/files/00000000-0000-7000-8000-000000000000', u.token);
    const f = await uploadAs(u);
    const row = await t.node.ctx.database.db.selectFrom('files').select('storage_name').where('id', '=', f.id).executeTakeFirstOrThrow();
    fs.rmSync(path.join(t.node.ctx.config.fileDir, row.storage_name));
    await expectNotFound(f.url, u.token);
  });

  it('returns 404 for a file whose bytes are missing on disk to a revalidation (If-None-Match) and to an unsatisfiable range', async () => {
    const u = await t.centerApi.user('uploader');
    const f = await uploadAs(u);
    const row = await t.node.ctx.database.db.selectFrom('files').select('storage_name').where('id', '=', f.id).executeTakeFirstOrThrow();
    fs.rmSync(path.join(t.node.ctx.config.fileDir, row.storage_name));
    for (const headers of [{ 'if-none-match': `"${f.sha256}"` }, { range: `bytes=${CONTENT.length}-` }] as Record<string, string>[]) {
      const r = await get(f.url, u.token, headers);
      expect(r.status).toBe(404);
      expect((await r.json()).error.code).toBe('not_found');
    }
  });
});

describe('DELETE /api/files/:fileId', () => {
  it('removes the bytes and the row for the uploader (204); downloads then 404 and the attachment reports expired', async () => {
    const s = await attachedInPrivateChannel();
    const row = await t.node.ctx.database.db.selectFrom('files').select('storage_name').where('id', '=', s.file.id).executeTakeFirstOrThrow();
    const r = await t.api('DELETE', s.file.url, { token: s.author.token });
    expect(r.status).toBe(204);
    expect(fs.existsSync(path.join(t.node.ctx.config.fileDir, row.storage_name))).toBe(false);
    await expectNotFound(s.file.url, s.author.token);
    await expectNotFound(s.file.url, s.channelMate.token);
    const msg = await t.api('GET', `/api/messages/${s.messageId}`, { token: s.channelMate.token });
    expect(msg.body.message.attachments).toEqual([{ id: s.file.id, name: 'fox.txt', size: CONTENT.length, mime: 'text/plain', url: s.file.url, expired: true }]);
    const again = await t.api('DELETE', s.file.url, { token: s.author.token });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('not_found');
  });

  it('returns 404 to everyone but the uploader and leaves the file in place', async () => {
    const s = await attachedInPrivateChannel();
    for (const token of [s.channelMate.token, s.owner.token, await t.centerApi.guildToken(s.guildId)]) {
      const r = await t.api('DELETE', s.file.url, { token });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe('not_found');
    }
    expect((await get(s.file.url, s.channelMate.token)).status).toBe(200);
  });

  it('returns 401 without a token', async () => {
    const r = await t.api('DELETE', '/api/files/whatever');
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthorized');
  });
});
