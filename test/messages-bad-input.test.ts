/**
 * Bad input on every message endpoint (api.md "Errors"): wrong types, oversize content,
 * invalid JSON, wrong content types, unknown ids → a 4xx with the error JSON, never a 5xx,
 * and nothing stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONTENT_CHARS } from '../lib/messages/message-rules.js';
import { expectBadRequest, expectError } from './helpers/expect-error.js';
import { createChannel, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { lastSeq, list, post } from './helpers/messages.js';

let t: TestNode;
let user: TestUser;
let channelId: string;
beforeAll(async () => {
  t = await startTestNode();
  const { owner, guildId } = await seedGuild(t, 0);
  user = owner;
  channelId = (await createChannel(t, owner.token, { guildId, name: 'inputs', xType: 'discuss' })).id;
});
afterAll(async () => t?.close());

const raw = (method: string, path: string, rawBody: string, contentType = 'application/json') =>
  t.api(method, path, { token: user.token, rawBody, headers: { 'content-type': contentType } });

/** Nothing was stored: no seq used, no message in history. */
async function expectNothingStored() {
  expect(await lastSeq(t, user.token, channelId)).toBe(0);
  expect((await list(t, user.token, channelId)).messages).toEqual([]);
}

describe('POST /api/channels/:channelId/messages with bad input', () => {
  const path = () => `/api/channels/${channelId}/messages`;
  const postBody = (body: unknown) => t.api('POST', path(), { token: user.token, body });

  it.each([
    ['content of the wrong type', { content: 42 }, 'content'],
    ['content null', { content: null }, 'content'],
    ['content over 16000 characters', { content: 'x'.repeat(MAX_CONTENT_CHARS + 1) }, 'content'],
    ['content over 16000 characters of emoji', { content: '😀'.repeat(MAX_CONTENT_CHARS + 1) }, 'content'],
    ['replyToId of the wrong type', { content: 'x', replyToId: 5 }, 'replyToId'],
    ['replyToId empty', { content: 'x', replyToId: '' }, 'replyToId'],
    ['attachmentIds not an array', { content: 'x', attachmentIds: 'f1' }, 'attachmentIds'],
    ['attachmentIds with a non-string', { content: 'x', attachmentIds: [1] }, 'attachmentIds.0'],
    ['clientMsgId empty', { content: 'x', clientMsgId: '' }, 'clientMsgId'],
    ['clientMsgId over 64 characters', { content: 'x', clientMsgId: 'k'.repeat(65) }, 'clientMsgId'],
    ['clientMsgId over 64 characters of emoji', { content: 'x', clientMsgId: '😀'.repeat(65) }, 'clientMsgId'],
    ['clientMsgId of the wrong type', { content: 'x', clientMsgId: 7 }, 'clientMsgId'],
    ['a JSON array as the body', [], '(body)'],
    ['content with an unpaired surrogate (not storable text)', { content: 'half \ud800 pair' }, 'content'],
    ['clientMsgId with an unpaired surrogate (not storable text)', { content: 'x', clientMsgId: 'k\udc00' }, 'clientMsgId'],
  ])('returns 400 bad_request for %s and stores nothing', async (_, body, field) => {
    expectBadRequest(await postBody(body), field);
    await expectNothingStored();
  });

  it('stores the most mention ids 16000 characters can hold, however long their JSON is', async () => {
    // 122 distinct ids of 128 control characters (valid in ids; JSON writes each as \u00XX, six bytes).
    const controls = [...Array.from({ length: 8 }, (_, i) => 1 + i), ...Array.from({ length: 14 }, (_, i) => 0x0e + i)].map((c) => String.fromCharCode(c));
    const ids = Array.from({ length: 122 }, (_, i) => controls[i % 22].repeat(126) + controls[Math.floor(i / 22)] + controls[i % 22]);
    const content = ids.map((id) => `<@${id}>`).join('');
    expect(content.length).toBeLessThanOrEqual(MAX_CONTENT_CHARS);
    expect(JSON.stringify(ids).length).toBeGreaterThan(65535);
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'mentions', xType: 'general' });
    const stored = await post(t, owner.token, ch.id, content);
    expect(stored.mentions).toEqual(ids);
    expect((await list(t, owner.token, ch.id)).messages[0].mentions).toEqual(ids);
  });

  it('accepts exactly 16000 characters', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'long', xType: 'general' });
    expect((await post(t, owner.token, ch.id, 'x'.repeat(MAX_CONTENT_CHARS))).content).toHaveLength(MAX_CONTENT_CHARS);
  });

  it('counts clientMsgId in characters (code points): 64 emoji are accepted and stored as sent', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'keys', xType: 'general' });
    const clientMsgId = '😀'.repeat(64);
    const first = await post(t, owner.token, ch.id, 'once', { clientMsgId });
    expect(first.clientMsgId).toBe(clientMsgId);
    const retry = await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'twice', clientMsgId } });
    expect(retry.status).toBe(200);
    expect(retry.body.message).toMatchObject({ id: first.id, content: 'once', clientMsgId });
  });

  it('lists every invalid field in details', async () => {
    expectBadRequest(await postBody({ content: 1, replyToId: 2, clientMsgId: '' }), 'content', 'replyToId', 'clientMsgId');
    await expectNothingStored();
  });

  it('returns 400 for malformed JSON, 415 for a non-JSON content type, 413 for a body over 1 MiB', async () => {
    expectError(await raw('POST', path(), '{"content": "x"'), 400, 'bad_request');
    expectError(await raw('POST', path(), 'content=x', 'application/x-www-form-urlencoded'), 415, 'unsupported_media_type');
    expectError(await raw('POST', path(), JSON.stringify({ content: 'x', pad: 'p'.repeat(1024 * 1024) })), 413, 'payload_too_large');
    await expectNothingStored();
  });

  it('returns 400 invalid_reference for unknown replyToId and attachmentIds', async () => {
    expectError(await postBody({ content: 'x', replyToId: 'no-such-message' }), 400, 'invalid_reference');
    expectError(await postBody({ content: 'x', attachmentIds: ['no-such-file'] }), 400, 'invalid_reference');
    await expectNothingStored();
  });

  it('returns 404 for an unknown channel id, also with a bad body', async () => {
    expectError(await t.api('POST', '/api/channels/nope/messages', { token: user.token, body: { content: 42 } }), 404, 'not_found');
  });

  it('leaves the turn untouched when an intercepted command comes with an invalid field', async () => {
    expectBadRequest(await postBody({ content: '/force-proceed', clientMsgId: '' }), 'clientMsgId');
    const turn = await t.api('GET', `/api/channels/${channelId}/turn`, { token: user.token });
    expect(turn.body.turn).toMatchObject({ status: 'idle', round: 0 });
  });
});

describe('GET /api/channels/:channelId/messages with bad input', () => {
  it('returns 400 bad_request for bad query values and 404 for an unknown channel', async () => {
    const get = (q: string) => t.api('GET', `/api/channels/${channelId}/messages${q}`, { token: user.token });
    expectBadRequest(await get('?limit=1e2'), 'limit');
    expectBadRequest(await get('?before=1&after=1'), 'before');
    expectBadRequest(await get('?after=99999999999999999999'), 'after');
    expectError(await t.api('GET', '/api/channels/nope/messages', { token: user.token }), 404, 'not_found');
  });
});

describe('PATCH /api/messages/:messageId with bad input', () => {
  it('returns 400/413/415 with the error JSON and leaves the message unchanged', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'edits', xType: 'general' });
    const m = await post(t, owner.token, ch.id, 'original');
    const path = `/api/messages/${m.id}`;
    const patch = (body: unknown) => t.api('PATCH', path, { token: owner.token, body });
    expectBadRequest(await patch({}), 'content');
    expectBadRequest(await patch({ content: 7 }), 'content');
    expectBadRequest(await patch({ content: null }), 'content');
    expectBadRequest(await patch({ content: 'x'.repeat(MAX_CONTENT_CHARS + 1) }), 'content');
    expectBadRequest(await patch({ content: '' }), 'content');
    expectError(await t.api('PATCH', path, { token: owner.token, rawBody: '{oops', headers: { 'content-type': 'application/json' } }), 400, 'bad_request');
    expectError(await t.api('PATCH', path, { token: owner.token, rawBody: 'content', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(
      await t.api('PATCH', path, { token: owner.token, rawBody: JSON.stringify({ content: 'x', pad: 'p'.repeat(1024 * 1024) }), headers: { 'content-type': 'application/json' } }),
      413,
      'payload_too_large',
    );
    expectError(await t.api('PATCH', '/api/messages/no-such-message', { token: owner.token, body: { content: 'x' } }), 404, 'not_found');
    const got = await t.api('GET', path, { token: owner.token });
    expect(got.body.message).toMatchObject({ content: 'original', editedAt: null });
  });
});

describe('GET and DELETE /api/messages/:messageId with unknown ids', () => {
  it('returns 404 not_found with the error JSON', async () => {
    for (const id of ['no-such-message', '0', 'x'.repeat(300), '%F0%9F%98%80']) {
      expectError(await t.api('GET', `/api/messages/${id}`, { token: user.token }), 404, 'not_found');
      expectError(await t.api('DELETE', `/api/messages/${id}`, { token: user.token }), 404, 'not_found');
    }
  });
});
