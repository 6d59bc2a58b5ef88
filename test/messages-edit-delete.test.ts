/**
 * PATCH and DELETE /api/messages/:messageId (api.md "Messages"): who may edit and delete,
 * re-parsed mentions, editedAt, soft delete with tombstones, idempotency, closed channels,
 * and the message.updated / message.deleted events on real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../lib/turns/engine.js';
import { expectBadRequest, expectError, ISO_MS } from './helpers/expect-error.js';
import { createChannel, nextEvent, recordEvents, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { joinRoom, list, post, upload } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ random: seededRandom(5) });
});
afterAll(async () => t?.close());

/** A public channel of `xType` created by `author` with `member`; owner/admin/guild token/outsider around it. */
async function seedChannel(xType = 'general') {
  const { owner, members, guildId } = await seedGuild(t, 3);
  const [author, member, outsider] = members;
  const admin = await t.centerApi.user('admin');
  await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [admin.id], role: 'admin' } });
  const guildToken = await t.centerApi.guildToken(guildId);
  const ch = await createChannel(t, author.token, { guildId, name: xType, xType, isPublic: true, memberUserIds: [member.id] });
  return { owner, admin, author, member, outsider, guildToken, guildId, channelId: ch.id };
}

const edit = (token: string, id: string, body: unknown) => t.api('PATCH', `/api/messages/${id}`, { token, body });
const del = (token: string, id: string) => t.api('DELETE', `/api/messages/${id}`, { token });
const close = async (token: string, channelId: string) => expect((await t.api('PATCH', `/api/channels/${channelId}`, { token, body: { closed: true } })).status).toBe(200);

describe('PATCH /api/messages/:messageId', () => {
  it('lets the author edit: new content, re-parsed mentions, editedAt; emits message.updated and no message.created', async () => {
    const { author, member, outsider, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, `hi <@${member.id}>`, { clientMsgId: 'e1' });
    const s = await t.socket(member.token);
    await joinRoom(s, channelId);
    const createdEvents = recordEvents(s, 'message.created');
    const updated = nextEvent(s, 'message.updated');
    const r = await edit(author.token, m.id, { content: `now <@user.name:${outsider.name}> and <@${member.id}>`, seq: 99 });
    expect(r.status).toBe(200);
    expect(r.body.message).toEqual({
      ...m,
      content: `now <@${outsider.id}> and <@${member.id}>`,
      mentions: [outsider.id, member.id],
      editedAt: expect.stringMatching(ISO_MS),
    });
    expect(await updated).toEqual({ ...r.body.message, pos: expect.any(Number) });
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: member.token })).body.message).toEqual(r.body.message);
    // The next post is the only message.created the socket saw.
    const next = nextEvent(s, 'message.created');
    await post(t, member.token, channelId, 'after the edit');
    await next;
    expect(createdEvents.map((e) => e.content)).toEqual(['after the edit']);
  });

  it('stores an edit to "/no-reply" as content (edits are never intercepted)', async () => {
    const { author, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'draft');
    const r = await edit(author.token, m.id, { content: '/no-reply' });
    expect(r.status).toBe(200);
    expect(r.body.message.content).toBe('/no-reply');
  });

  it('does not touch the turn engine in a discuss channel, even with a new mention', async () => {
    const { author, member, channelId } = await seedChannel('discuss');
    const m = await post(t, author.token, channelId, 'topic');
    const before = (await t.api('GET', `/api/channels/${channelId}/turn`, { token: author.token })).body.turn;
    expect((await edit(author.token, m.id, { content: `topic <@${member.id}>` })).status).toBe(200);
    expect((await t.api('GET', `/api/channels/${channelId}/turn`, { token: author.token })).body.turn).toEqual(before);
  });

  it('returns 403 forbidden for anyone but the author: another member, the guild owner, the guild token', async () => {
    const { owner, admin, member, author, guildToken, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'mine');
    for (const token of [member.token, owner.token, admin.token, guildToken]) {
      expectError(await edit(token, m.id, { content: 'theirs' }), 403, 'forbidden');
    }
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: author.token })).body.message).toEqual(m);
  });

  it('returns 403 forbidden to an author who left the channel', async () => {
    const { author, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'before leaving');
    expect((await t.api('POST', `/api/channels/${channelId}/leave`, { token: author.token })).body).toEqual({ left: true });
    expectError(await edit(author.token, m.id, { content: 'after leaving' }), 403, 'forbidden');
  });

  it('returns 404 not_found for a deleted message, an unknown id, and a channel the caller cannot see', async () => {
    const { author, member, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'soon gone');
    expect((await del(author.token, m.id)).status).toBe(204);
    expectError(await edit(author.token, m.id, { content: 'x' }), 404, 'not_found');
    expectError(await edit(member.token, m.id, { content: 'x' }), 404, 'not_found');
    expectError(await edit(author.token, 'no-such-message', { content: 'x' }), 404, 'not_found');
    const stranger = await t.centerApi.user('stranger');
    const live = await post(t, author.token, channelId, 'live');
    expectError(await edit(stranger.token, live.id, { content: 'x' }), 404, 'not_found');
  });

  it('returns 409 channel_closed in a closed channel, before validating the body', async () => {
    const { author, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'frozen');
    await close(author.token, channelId);
    expectError(await edit(author.token, m.id, { content: 'thawed' }), 409, 'channel_closed');
    expectError(await edit(author.token, m.id, { content: 42 }), 409, 'channel_closed');
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: author.token })).body.message.content).toBe('frozen');
  });

  it('refuses empty content (400) unless the message has attachments', async () => {
    const { author, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'text');
    expectBadRequest(await edit(author.token, m.id, { content: '  ' }), 'content');
    const file = await upload(t, author, 'a.txt', 'abc');
    const withFile = await post(t, author.token, channelId, 'caption', { attachmentIds: [file.id] });
    const r = await edit(author.token, withFile.id, { content: '' });
    expect(r.status).toBe(200);
    expect(r.body.message).toMatchObject({ content: '', attachments: [{ id: file.id, name: 'a.txt' }] });
  });
});

describe('DELETE /api/messages/:messageId', () => {
  it('lets the author delete: 204, message.deleted {id, channelId, seq, deletedAt}, a tombstone; again → 204 and no event', async () => {
    const { author, member, channelId } = await seedChannel();
    await post(t, author.token, channelId, 'first');
    const m = await post(t, author.token, channelId, `second <@${member.id}>`);
    const s = await t.socket(member.token);
    await joinRoom(s, channelId);
    const deletedEvents = recordEvents(s, 'message.deleted');
    const deleted = nextEvent(s, 'message.deleted');
    expect((await del(author.token, m.id)).status).toBe(204);
    const event = await deleted;
    expect(event).toEqual({ id: m.id, channelId, seq: 2, deletedAt: expect.stringMatching(ISO_MS), pos: expect.any(Number) });
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: member.token })).body.message).toEqual({
      ...m,
      content: '',
      mentions: [],
      attachments: [],
      deletedAt: event.deletedAt,
    });
    const again = await del(author.token, m.id);
    expect(again.status).toBe(204);
    expect(again.body).toBe('');
    // A later event proves the repeated delete sent nothing.
    const created = nextEvent(s, 'message.created');
    await post(t, author.token, channelId, 'third');
    await created;
    expect(deletedEvents).toHaveLength(1);
    expect((await list(t, member.token, channelId)).messages.map((x) => x.seq)).toEqual([1, 2, 3]);
  });

  it('lets the guild owner, a guild admin and the guild token delete any message of the guild', async () => {
    const { owner, admin, guildToken, member, channelId } = await seedChannel();
    for (const token of [owner.token, admin.token, guildToken]) {
      const m = await post(t, member.token, channelId, 'moderated');
      expect((await del(token, m.id)).status).toBe(204);
      expect((await t.api('GET', `/api/messages/${m.id}`, { token: member.token })).body.message.deletedAt).toMatch(ISO_MS);
    }
  });

  it('returns 403 forbidden for a member who is not the author and for a public reader', async () => {
    const { author, member, outsider, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'keep me');
    expectError(await del(member.token, m.id), 403, 'forbidden');
    expectError(await del(outsider.token, m.id), 403, 'forbidden');
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: author.token })).body.message.deletedAt).toBeNull();
  });

  it('lets an author who left a public channel still delete its own message', async () => {
    const { author, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'regret');
    await t.api('POST', `/api/channels/${channelId}/leave`, { token: author.token });
    expect((await del(author.token, m.id)).status).toBe(204);
  });

  it('returns 404 for an unknown id and for a channel the caller cannot see, 401 without a token', async () => {
    const { author, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'x');
    const stranger = await t.centerApi.user('stranger');
    expectError(await del(author.token, 'no-such-message'), 404, 'not_found');
    expectError(await del(stranger.token, m.id), 404, 'not_found');
    expectError(await t.api('DELETE', `/api/messages/${m.id}`), 401, 'unauthorized');
  });

  it('returns 409 channel_closed in a closed channel and keeps the message', async () => {
    const { author, owner, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'archived');
    await close(author.token, channelId);
    expectError(await del(author.token, m.id), 409, 'channel_closed');
    expectError(await del(owner.token, m.id), 409, 'channel_closed');
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: author.token })).body.message.content).toBe('archived');
  });

  it('emits message.deleted once for concurrent deletes', async () => {
    const { author, owner, member, channelId } = await seedChannel();
    const m = await post(t, author.token, channelId, 'contested');
    const s = await t.socket(member.token);
    await joinRoom(s, channelId);
    const seen = recordEvents(s, 'message.deleted');
    const results = await Promise.all([author, owner, author, owner, author].map((u) => del(u.token, m.id)));
    expect(results.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    const created = nextEvent(s, 'message.created');
    await post(t, author.token, channelId, 'sentinel');
    await created;
    expect(seen).toHaveLength(1);
  });

  it('drops the attachments of a deleted message from its tombstone', async () => {
    const { author, channelId } = await seedChannel();
    const file = await upload(t, author, 'b.txt', 'bytes');
    const m = await post(t, author.token, channelId, 'with file', { attachmentIds: [file.id] });
    expect(m.attachments).toHaveLength(1);
    expect((await del(author.token, m.id)).status).toBe(204);
    expect((await list(t, author.token, channelId)).messages[0]).toMatchObject({ id: m.id, attachments: [], content: '' });
  });
});
