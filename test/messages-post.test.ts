/**
 * POST /api/channels/:channelId/messages (api.md "Messages"): the message shape, who may
 * post, closed channels, replies, clientMsgId idempotency, mentions with name translation
 * through the Center emulator, intercepted commands and attachments — over real HTTP and
 * real sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireReadableChannel } from '../lib/guilds/standing.js';
import { createMessage } from '../lib/messages/post-message.js';
import { seededRandom } from '../lib/turns/engine.js';
import { expectBadRequest, expectError, ISO_MS } from './helpers/expect-error.js';
import { createChannel, nextEvent, recordEvents, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { joinRoom, lastSeq, list, post, postMessage, upload as uploadFile } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ random: seededRandom(7) });
});
afterAll(async () => t?.close());

/** A guild (owner, admin, guild token) with a channel of `xType` holding author + member; outsider is a guild member outside it. */
async function seedChannel(xType = 'general', opts: { isPublic?: boolean; extra?: Record<string, unknown> } = {}) {
  const { owner, members, guildId } = await seedGuild(t, 3);
  const [author, member, outsider] = members;
  const admin = await t.centerApi.user('admin');
  await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [admin.id], role: 'admin' } });
  const guildToken = await t.centerApi.guildToken(guildId);
  const channel = await createChannel(t, author.token, {
    guildId,
    name: xType,
    xType,
    isPublic: opts.isPublic ?? false,
    memberUserIds: [member.id],
    ...opts.extra,
  });
  return { owner, admin, author, member, outsider, guildId, guildToken, channelId: channel.id };
}

const closeChannel = async (token: string, channelId: string, closed = true) =>
  expect((await t.api('PATCH', `/api/channels/${channelId}`, { token, body: { closed } })).status).toBe(200);

const upload = (user: TestUser, name: string, data: string, type?: string) => uploadFile(t, user, name, data, type);

describe('POST /api/channels/:channelId/messages', () => {
  it('returns 201 {message} with seq 1, 2, 3 and the full message shape; lastSeq follows', async () => {
    const { author, member, channelId, guildId } = await seedChannel();
    const first = await postMessage(t, author.token, channelId, { content: 'hello', clientMsgId: 'c-1' });
    expect(first.status).toBe(201);
    expect(first.body.message).toEqual({
      id: expect.any(String),
      channelId,
      guildId,
      seq: 1,
      authorId: author.id,
      content: 'hello',
      replyToId: null,
      mentions: [],
      attachments: [],
      clientMsgId: 'c-1',
      createdAt: expect.stringMatching(ISO_MS),
      editedAt: null,
      deletedAt: null,
    });
    expect((await post(t, member.token, channelId, 'two')).seq).toBe(2);
    expect((await post(t, author.token, channelId, 'three')).seq).toBe(3);
    expect(await lastSeq(t, author.token, channelId)).toBe(3);
  });

  it('stores the content verbatim, surrounding whitespace included, and ignores unknown fields', async () => {
    const { author, channelId } = await seedChannel();
    const r = await postMessage(t, author.token, channelId, { content: '  spaced\n', seq: 99, authorId: 'someone', extra: true });
    expect(r.status).toBe(201);
    expect(r.body.message).toMatchObject({ content: '  spaced\n', seq: 1, authorId: author.id });
    expect(r.body.message).not.toHaveProperty('extra');
  });

  it('delivers message.created to the channel room after the commit', async () => {
    const { author, member, channelId } = await seedChannel();
    const s = await t.socket(member.token);
    await joinRoom(s, channelId);
    const created = nextEvent(s, 'message.created');
    const m = await post(t, author.token, channelId, 'live');
    expect(await created).toEqual({ ...m, wakeup: true, wakeReason: 'general', pos: expect.any(Number) });
  });

  describe('who may post', () => {
    it('returns 403 forbidden for a guild member who reads a public channel without being a member', async () => {
      const { outsider, author, channelId } = await seedChannel('general', { isPublic: true });
      expectError(await postMessage(t, outsider.token, channelId, { content: 'hi' }), 403, 'forbidden');
      expect(await lastSeq(t, author.token, channelId)).toBe(0);
    });

    it('returns 404 not_found for a private channel the caller cannot see, and for an unknown channel', async () => {
      const { outsider, channelId } = await seedChannel();
      expectError(await postMessage(t, outsider.token, channelId, { content: 'hi' }), 404, 'not_found');
      const stranger = await t.centerApi.user('stranger');
      expectError(await postMessage(t, stranger.token, channelId, { content: 'hi' }), 404, 'not_found');
      expectError(await postMessage(t, outsider.token, 'no-such-channel', { content: 'hi' }), 404, 'not_found');
    });

    it('returns 403 forbidden for the guild token and for a guild owner/admin who is not a channel member', async () => {
      const { owner, admin, guildToken, author, channelId } = await seedChannel();
      expectError(await postMessage(t, guildToken, channelId, { content: 'hi' }), 403, 'forbidden');
      expectError(await postMessage(t, owner.token, channelId, { content: 'hi' }), 403, 'forbidden');
      expectError(await postMessage(t, admin.token, channelId, { content: 'hi' }), 403, 'forbidden');
      expect(await lastSeq(t, author.token, channelId)).toBe(0);
    });

    it('returns 404 for the token of another guild', async () => {
      const { channelId } = await seedChannel();
      const other = await seedChannel();
      expectError(await postMessage(t, other.guildToken, channelId, { content: 'hi' }), 404, 'not_found');
    });

    it('returns 401 unauthorized without a valid token', async () => {
      const { channelId } = await seedChannel();
      expectError(await t.api('POST', `/api/channels/${channelId}/messages`, { body: { content: 'hi' } }), 401, 'unauthorized');
      expectError(await postMessage(t, 'not-a-token', channelId, { content: 'hi' }), 401, 'unauthorized');
    });

    it('lets a member who joined a public channel post', async () => {
      const { outsider, channelId } = await seedChannel('general', { isPublic: true });
      expect((await t.api('POST', `/api/channels/${channelId}/join`, { token: outsider.token })).body).toEqual({ joined: true });
      expect((await post(t, outsider.token, channelId, 'joined')).authorId).toBe(outsider.id);
    });
  });

  describe('closed channels', () => {
    it('returns 409 channel_closed for posts and intercepted commands, stores nothing, and accepts posts again once reopened', async () => {
      const { author, channelId } = await seedChannel('discuss');
      await closeChannel(author.token, channelId);
      expectError(await postMessage(t, author.token, channelId, { content: 'hi' }), 409, 'channel_closed');
      expectError(await postMessage(t, author.token, channelId, { content: '/no-reply' }), 409, 'channel_closed');
      expectError(await postMessage(t, author.token, channelId, { content: '/force-proceed' }), 409, 'channel_closed');
      const turn = await t.api('GET', `/api/channels/${channelId}/turn`, { token: author.token });
      expect(turn.body.turn).toMatchObject({ status: 'idle', round: 0 });
      expect(await lastSeq(t, author.token, channelId)).toBe(0);
      await closeChannel(author.token, channelId, false);
      expect((await post(t, author.token, channelId, 'open again')).seq).toBe(1);
    });

    it('answers in the order 404, 403, 409, 400 when several checks fail', async () => {
      const { author, outsider, guildToken, channelId } = await seedChannel('general', { isPublic: true });
      const privateOne = await seedChannel();
      await closeChannel(author.token, channelId);
      await closeChannel(privateOne.author.token, privateOne.channelId);
      // not visible + closed + bad body → 404
      expectError(await postMessage(t, outsider.token, privateOne.channelId, { content: 42 }), 404, 'not_found');
      // not a member + closed + bad body → 403
      expectError(await postMessage(t, outsider.token, channelId, { content: 42 }), 403, 'forbidden');
      expectError(await postMessage(t, guildToken, channelId, { content: 42 }), 403, 'forbidden');
      // member + closed + bad body → 409
      expectError(await postMessage(t, author.token, channelId, { content: 42 }), 409, 'channel_closed');
    });
  });

  describe('replyToId', () => {
    it('accepts a message of the same channel, a deleted one included', async () => {
      const { author, member, channelId } = await seedChannel();
      const first = await post(t, author.token, channelId, 'question');
      expect((await post(t, member.token, channelId, 'answer', { replyToId: first.id })).replyToId).toBe(first.id);
      expect((await t.api('DELETE', `/api/messages/${first.id}`, { token: author.token })).status).toBe(204);
      expect((await post(t, member.token, channelId, 'late answer', { replyToId: first.id })).replyToId).toBe(first.id);
    });

    it('returns 400 invalid_reference for a message of another channel or an unknown id, and stores nothing', async () => {
      const { author, channelId } = await seedChannel();
      const other = await seedChannel();
      const elsewhere = await post(t, other.author.token, other.channelId, 'elsewhere');
      expectError(await postMessage(t, author.token, channelId, { content: 'x', replyToId: elsewhere.id }), 400, 'invalid_reference');
      expectError(await postMessage(t, author.token, channelId, { content: 'x', replyToId: 'no-such-message' }), 400, 'invalid_reference');
      expect(await lastSeq(t, author.token, channelId)).toBe(0);
    });
  });

  describe('clientMsgId idempotency', () => {
    it('returns 200 with the stored message for a repeated clientMsgId — unchanged, no new seq, no event', async () => {
      const { author, member, channelId } = await seedChannel();
      const s = await t.socket(member.token);
      await joinRoom(s, channelId);
      const seen = recordEvents(s, 'message.created');
      const first = await postMessage(t, author.token, channelId, { content: 'original', clientMsgId: 'k-1' });
      expect(first.status).toBe(201);
      const again = await postMessage(t, author.token, channelId, { content: 'different text', clientMsgId: 'k-1', replyToId: null });
      expect(again.status).toBe(200);
      expect(again.body.message).toEqual(first.body.message);
      // The next post gets seq 2 (the retry used no seq), and it is the only other event.
      const next = nextEvent(s, 'message.created', 3000, (m) => m.content === 'after');
      expect((await post(t, author.token, channelId, 'after')).seq).toBe(2);
      await next;
      expect(seen.map((m) => m.content)).toEqual(['original', 'after']);
    });

    it('answers a retry with the stored message even where the retry alone would now be refused', async () => {
      const { author, member, channelId, guildId } = await seedChannel();
      const other = await createChannel(t, author.token, { guildId, name: 'elsewhere', xType: 'general' });
      const foreign = await post(t, author.token, other.id, 'in another channel');
      const membersFile = await upload(member, 'm.txt', 'not yours');
      const first = await postMessage(t, author.token, channelId, { content: 'original', clientMsgId: 'r-1' });
      expect(first.status).toBe(201);
      for (const retry of [
        { content: 'a reply to another channel', replyToId: foreign.id },
        { content: 'with a file that is not mine', attachmentIds: [membersFile.id] },
        { content: '/no-reply' },
      ]) {
        const again = await postMessage(t, author.token, channelId, { ...retry, clientMsgId: 'r-1' });
        expect(again.status).toBe(200);
        expect(again.body.message).toEqual(first.body.message);
      }
      // Without the earlier message the same bodies are refused or intercepted as usual.
      expectError(await postMessage(t, author.token, channelId, { content: 'x', replyToId: foreign.id, clientMsgId: 'r-2' }), 400, 'invalid_reference');
      expect((await postMessage(t, author.token, channelId, { content: '/no-reply', clientMsgId: 'r-3' })).body).toEqual({ intercepted: 'no-reply', turn: null });
      expect(await lastSeq(t, author.token, channelId)).toBe(1);
    });

    it('treats the same clientMsgId from another author or in another channel as a new message', async () => {
      const { author, member, channelId, guildId } = await seedChannel();
      const other = await createChannel(t, author.token, { guildId, name: 'other', xType: 'general' });
      expect((await postMessage(t, author.token, channelId, { content: 'a', clientMsgId: 'same' })).status).toBe(201);
      expect((await postMessage(t, member.token, channelId, { content: 'b', clientMsgId: 'same' })).status).toBe(201);
      expect((await postMessage(t, author.token, other.id, { content: 'c', clientMsgId: 'same' })).status).toBe(201);
      expect(await lastSeq(t, author.token, channelId)).toBe(2);
    });

    it('stores one message for concurrent retries of one clientMsgId', async () => {
      const { author, channelId } = await seedChannel();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => postMessage(t, author.token, channelId, { content: `try ${i}`, clientMsgId: 'retry-me' })));
      expect(results.filter((r) => r.status === 201)).toHaveLength(1);
      expect(results.filter((r) => r.status === 200)).toHaveLength(19);
      expect(new Set(results.map((r) => r.body.message.id)).size).toBe(1);
      expect(new Set(results.map((r) => r.body.message.seq))).toEqual(new Set([1]));
      const page = await list(t, author.token, channelId);
      expect(page.messages).toHaveLength(1);
      expect(await lastSeq(t, author.token, channelId)).toBe(1);
    });

    it('returns the tombstone when the message stored under the clientMsgId was deleted since', async () => {
      const { author, channelId } = await seedChannel();
      const m = await post(t, author.token, channelId, 'gone soon', { clientMsgId: 'k-del' });
      expect((await t.api('DELETE', `/api/messages/${m.id}`, { token: author.token })).status).toBe(204);
      const again = await postMessage(t, author.token, channelId, { content: 'gone soon', clientMsgId: 'k-del' });
      expect(again.status).toBe(200);
      expect(again.body.message).toMatchObject({ id: m.id, seq: 1, content: '', deletedAt: expect.stringMatching(ISO_MS) });
    });
  });

  describe('mentions', () => {
    it('lists <@ID> mentions outside code once each, in order of first appearance, members or not', async () => {
      const { author, member, outsider, channelId } = await seedChannel();
      const m = await post(t, author.token, channelId, `<@${outsider.id}> and <@${member.id}><@${outsider.id}> \`<@in-code>\`\n\`\`\`\n<@in-fence>\n\`\`\`\n<@not-a-user>`);
      expect(m.mentions).toEqual([outsider.id, member.id, 'not-a-user']);
    });

    it('translates <@user.name:NAME> into <@ID> with one batched Center call, leaving unknown names and code as text', async () => {
      const { author, member, outsider, channelId } = await seedChannel();
      const unknown = `nobody-${Date.now()}`;
      const before = await t.centerApi.stats();
      const content = `hi <@user.name:${member.name}>, <@user.name:${outsider.name}> and <@user.name:${unknown}>; \`<@user.name:${member.name}>\``;
      const m = await post(t, author.token, channelId, content);
      const after = await t.centerApi.stats();
      expect(after.resolve - before.resolve).toBe(1);
      expect(m.content).toBe(`hi <@${member.id}>, <@${outsider.id}> and <@user.name:${unknown}>; \`<@user.name:${member.name}>\``);
      expect(m.mentions).toEqual([member.id, outsider.id]);
      // Cached: the same names again cost no call.
      await post(t, author.token, channelId, `<@user.name:${member.name}>`);
      expect((await t.centerApi.stats()).resolve).toBe(after.resolve);
    });

    it('makes no Center call for content without name mentions', async () => {
      const { author, member, channelId } = await seedChannel();
      const before = await t.centerApi.stats();
      await post(t, author.token, channelId, `plain <@${member.id}>`);
      expect((await t.centerApi.stats()).resolve).toBe(before.resolve);
    });
  });

  describe('intercepted commands', () => {
    it('in a general channel: 200 {intercepted, turn: null}, nothing stored, no message.created', async () => {
      const { author, member, channelId } = await seedChannel();
      const s = await t.socket(member.token);
      await joinRoom(s, channelId);
      const seen = recordEvents(s, 'message.created');
      const r1 = await postMessage(t, author.token, channelId, { content: '  /no-reply\n', clientMsgId: 'x' });
      expect(r1.status).toBe(200);
      expect(r1.body).toEqual({ intercepted: 'no-reply', turn: null });
      const r2 = await postMessage(t, author.token, channelId, { content: '/force-proceed' });
      expect(r2.status).toBe(200);
      expect(r2.body).toEqual({ intercepted: 'force-proceed', turn: null });
      const next = nextEvent(s, 'message.created');
      expect((await post(t, author.token, channelId, '/no-reply now')).seq).toBe(1); // not exact: an ordinary message
      await next;
      expect(seen.map((m) => m.content)).toEqual(['/no-reply now']);
    });

    it('treats every other slash text as an ordinary message', async () => {
      const { author, channelId } = await seedChannel();
      expect((await post(t, author.token, channelId, '/help')).content).toBe('/help');
      expect((await post(t, author.token, channelId, '/No-Reply')).content).toBe('/No-Reply');
    });

    it('in a discuss channel: applies /force-proceed and /no-reply to the turn engine and returns the turn', async () => {
      const { owner, members, guildId } = await seedGuild(t, 3);
      const [h, a, b] = members;
      const ch = await createChannel(t, h.token, { guildId, name: 'talk', xType: 'discuss', memberUserIds: [a.id, b.id] });
      const s = await t.socket(a.token);
      await joinRoom(s, ch.id);
      const updated = nextEvent(s, 'turn.updated');
      const fp = await postMessage(t, h.token, ch.id, { content: '/force-proceed' });
      expect(fp.status).toBe(200);
      expect(fp.body.intercepted).toBe('force-proceed');
      expect(fp.body.turn).toMatchObject({ channelId: ch.id, status: 'active', round: 1, speakerId: a.id, order: [a.id, b.id], bypass: [h.id] });
      expect(await updated).toMatchObject({ reason: 'force-proceed', speakerId: a.id, wakeup: true });
      const nr = await postMessage(t, a.token, ch.id, { content: '/no-reply' });
      expect(nr.status).toBe(200);
      expect(nr.body).toMatchObject({ intercepted: 'no-reply', turn: { speakerId: b.id, spoken: [a.id], passed: [a.id] } });
      expect(await lastSeq(t, owner.token, ch.id)).toBe(0);
    });
  });

  describe('attachments', () => {
    it('accepts own unexpired uploads (content may then be empty) and returns them on the message', async () => {
      const { author, channelId } = await seedChannel();
      const f1 = await upload(author, 'notes.txt', 'hello');
      const f2 = await upload(author, 'pic.png', 'png-bytes', 'image/png');
      const r = await postMessage(t, author.token, channelId, { content: '', attachmentIds: [f1.id, f2.id] });
      expect(r.status).toBe(201);
      expect(r.body.message.attachments).toEqual([
        { id: f1.id, name: 'notes.txt', size: 5, mime: 'text/plain', url: `/api/files/${f1.id}`, expired: false },
        { id: f2.id, name: 'pic.png', size: 9, mime: 'image/png', url: `/api/files/${f2.id}`, expired: false },
      ]);
      const got = await t.api('GET', `/api/messages/${r.body.message.id}`, { token: author.token });
      expect(got.body.message.attachments).toEqual(r.body.message.attachments);
    });

    it("returns 400 invalid_reference for someone else's upload or an unknown file, and stores nothing", async () => {
      const { author, member, channelId } = await seedChannel();
      const theirs = await upload(member, 'theirs.txt', 'x');
      expectError(await postMessage(t, author.token, channelId, { content: 'x', attachmentIds: [theirs.id] }), 400, 'invalid_reference');
      expectError(await postMessage(t, author.token, channelId, { content: 'x', attachmentIds: ['no-such-file'] }), 400, 'invalid_reference');
      expect(await lastSeq(t, author.token, channelId)).toBe(0);
    });

    it('returns 400 bad_request for empty content without attachments and for more than 10 attachments', async () => {
      const { author, channelId } = await seedChannel();
      expectBadRequest(await postMessage(t, author.token, channelId, { content: '' }), 'content');
      expectBadRequest(await postMessage(t, author.token, channelId, { content: ' \n ' }), 'content');
      expectBadRequest(await postMessage(t, author.token, channelId, {}), 'content');
      const ids = Array.from({ length: 11 }, (_, i) => `f-${i}`);
      expectBadRequest(await postMessage(t, author.token, channelId, { content: 'x', attachmentIds: ids }), 'attachmentIds');
      expect(await lastSeq(t, author.token, channelId)).toBe(0);
    });
  });
});

describe('posting when the channel or the author changed after the caller checked it', () => {
  // The handler reads the channel and checks the author first; these are the races where the
  // channel closes, or the author is removed, between that check and the post transaction,
  // driven through lib/ on the running node with a view read before the change. The lock
  // refuses, and the checks on a fresh read answer in api.md's order (404, 403, 409).
  async function checkedView(user: TestUser, channelId: string) {
    const principal = { kind: 'user' as const, userId: user.id, name: user.name };
    return { principal, view: await requireReadableChannel(t.node.ctx.database.db, principal, channelId) };
  }

  it.each(['general', 'discuss'])('in a %s channel closed since: 409 channel_closed, no seq used, nothing stored', async (xType) => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'race', xType });
    await post(t, owner.token, ch.id, 'before');
    const { principal, view } = await checkedView(owner, ch.id);
    expect((await t.api('PATCH', `/api/channels/${ch.id}`, { token: owner.token, body: { closed: true } })).status).toBe(200);
    const attempt = createMessage(t.node.ctx, view, principal, { content: 'after' });
    await expect(attempt).rejects.toMatchObject({ status: 409, code: 'channel_closed' });
    expect(await lastSeq(t, owner.token, ch.id)).toBe(1);
    expect((await list(t, owner.token, ch.id)).messages.map((m) => m.content)).toEqual(['before']);
  });

  it.each(['general', 'discuss', 'work'])(
    'in a %s channel, by an author removed since: 403 or 404 as for a fresh post, no seq used, nothing stored, turn unchanged',
    async (xType) => {
      const { owner, author, member, outsider, guildId, channelId } = await seedChannel(xType, { isPublic: true });
      await t.api('POST', `/api/channels/${channelId}/members`, { token: author.token, body: { userIds: [outsider.id] } });
      await post(t, author.token, channelId, 'before');
      const turn = async () => (xType === 'general' ? null : (await t.api('GET', `/api/channels/${channelId}/turn`, { token: owner.token })).body.turn);
      const fromMember = await checkedView(member, channelId);
      const fromOutsider = await checkedView(outsider, channelId);
      expect((await t.api('DELETE', `/api/channels/${channelId}/members/${member.id}`, { token: author.token })).status).toBe(204);
      expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${outsider.id}`, { token: owner.token })).status).toBe(204);
      const turnAfterRemovals = await turn();
      // Still a reader of the public channel: 403. No longer in the guild: 404.
      await expect(createMessage(t.node.ctx, fromMember.view, fromMember.principal, { content: 'removed' })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
      await expect(createMessage(t.node.ctx, fromOutsider.view, fromOutsider.principal, { content: 'left' })).rejects.toMatchObject({ status: 404, code: 'not_found' });
      expect(await lastSeq(t, author.token, channelId)).toBe(1);
      expect((await list(t, author.token, channelId)).messages.map((m) => m.content)).toEqual(['before']);
      expect(await turn()).toEqual(turnAfterRemovals);
    },
  );

  it.each(['/no-reply', '/force-proceed'])('%s in a work channel by an author removed since: 403, turn unchanged', async (content) => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [author, member] = members;
    const ch = await createChannel(t, author.token, { guildId, name: 'cmd', xType: 'work', isPublic: true, turn: { order: [member.id] } });
    await post(t, author.token, ch.id, 'topic'); // active, the member speaks
    const turnBefore = (await t.api('GET', `/api/channels/${ch.id}/turn`, { token: owner.token })).body;
    const { principal, view } = await checkedView(member, ch.id);
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${member.id}`, { token: author.token })).status).toBe(204);
    const turnAfterRemoval = (await t.api('GET', `/api/channels/${ch.id}/turn`, { token: owner.token })).body;
    expect(turnAfterRemoval).not.toEqual(turnBefore);
    await expect(createMessage(t.node.ctx, view, principal, { content })).rejects.toMatchObject({ status: 403, code: 'forbidden' });
    expect((await t.api('GET', `/api/channels/${ch.id}/turn`, { token: owner.token })).body).toEqual(turnAfterRemoval);
  });
});

describe('posting into a channel the node already knows (the one-round-trip path)', () => {
  // Once a channel has had a post, a plain post by a user goes straight to the post
  // transaction, with membership and the open channel checked under its lock; these are the
  // same answers as for a first post, with nothing stored.
  it.each(['general', 'report', 'triage', 'custom'])('in a %s channel: 403 for non-members, 404 for outsiders, nothing stored', async (xType) => {
    const { owner, admin, guildToken, author, outsider, channelId } = await seedChannel(xType, { isPublic: true });
    expect((await post(t, author.token, channelId, 'first')).seq).toBe(1);
    expectError(await postMessage(t, outsider.token, channelId, { content: 'reader' }), 403, 'forbidden');
    expectError(await postMessage(t, owner.token, channelId, { content: 'owner' }), 403, 'forbidden');
    expectError(await postMessage(t, admin.token, channelId, { content: 'admin' }), 403, 'forbidden');
    expectError(await postMessage(t, guildToken, channelId, { content: 'guild token' }), 403, 'forbidden');
    const stranger = await t.centerApi.user('stranger');
    expectError(await postMessage(t, stranger.token, channelId, { content: 'stranger' }), 404, 'not_found');
    expect((await post(t, author.token, channelId, 'second')).seq).toBe(2);
    expect((await list(t, author.token, channelId)).messages.map((m) => m.content)).toEqual(['first', 'second']);
  });

  it('refuses a member removed from the channel (403) or from the guild (404) since its last post', async () => {
    const { owner, author, member, outsider, guildId, channelId } = await seedChannel();
    await t.api('POST', `/api/channels/${channelId}/members`, { token: author.token, body: { userIds: [outsider.id] } });
    expect((await post(t, member.token, channelId, 'member')).seq).toBe(1);
    expect((await post(t, outsider.token, channelId, 'soon gone')).seq).toBe(2);
    expect((await t.api('DELETE', `/api/channels/${channelId}/members/${member.id}`, { token: author.token })).status).toBe(204);
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${outsider.id}`, { token: owner.token })).status).toBe(204);
    expectError(await postMessage(t, member.token, channelId, { content: 'removed' }), 404, 'not_found'); // private: no longer visible
    expectError(await postMessage(t, outsider.token, channelId, { content: 'left the guild' }), 404, 'not_found');
    expect(await lastSeq(t, author.token, channelId)).toBe(2);
  });

  it('refuses a member removed from a public channel it still reads with 403', async () => {
    const { author, member, channelId } = await seedChannel('general', { isPublic: true });
    expect((await post(t, member.token, channelId, 'before')).seq).toBe(1);
    expect((await t.api('POST', `/api/channels/${channelId}/leave`, { token: member.token })).status).toBe(200);
    expectError(await postMessage(t, member.token, channelId, { content: 'after leaving' }), 403, 'forbidden');
    expect(await lastSeq(t, author.token, channelId)).toBe(1);
  });

  it('refuses posts once the channel is closed (409, no seq used) and continues the seqs once reopened', async () => {
    const { author, member, outsider, channelId } = await seedChannel('general', { isPublic: true });
    expect((await post(t, author.token, channelId, 'one')).seq).toBe(1);
    await closeChannel(author.token, channelId);
    expectError(await postMessage(t, member.token, channelId, { content: 'closed' }), 409, 'channel_closed');
    expectError(await postMessage(t, outsider.token, channelId, { content: 'closed, not a member' }), 403, 'forbidden');
    // The order of checks holds with a bad body too: 403 before 409 before 400.
    expectError(await postMessage(t, outsider.token, channelId, { content: 42 }), 403, 'forbidden');
    expectError(await postMessage(t, member.token, channelId, { content: 42 }), 409, 'channel_closed');
    await closeChannel(author.token, channelId, false);
    expect((await post(t, member.token, channelId, 'two')).seq).toBe(2);
    expect((await list(t, author.token, channelId)).messages.map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
  });
});
