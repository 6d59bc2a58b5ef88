/**
 * Reading messages (api.md "Messages", "Who sees what"): GET …/messages paging with
 * latest / before / after / limit and hasMore, GET /api/messages/:id, tombstones in history,
 * and who may read — over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBadRequest, expectError, ISO_MS } from './helpers/expect-error.js';
import { createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { list, post } from './helpers/messages.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => t?.close());

const seqs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('GET /api/channels/:channelId/messages', () => {
  let token: string;
  let channelId: string;
  let emptyId: string;
  const TOTAL = 105;

  beforeAll(async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    token = owner.token;
    channelId = (await createChannel(t, token, { guildId, name: 'history', xType: 'general' })).id;
    emptyId = (await createChannel(t, token, { guildId, name: 'empty', xType: 'general' })).id;
    for (let i = 1; i <= TOTAL; i++) await post(t, token, channelId, `message ${i}`);
  });

  const page = async (query: string) => {
    const p = await list(t, token, channelId, query);
    return { seqs: p.messages.map((m) => m.seq), hasMore: p.hasMore };
  };

  it('returns an empty page without hasMore for an empty channel, whatever the bounds', async () => {
    for (const q of ['', '?after=0', '?before=1', '?limit=1', '?before=100']) {
      expect(await list(t, token, emptyId, q)).toEqual({ messages: [], hasMore: false });
    }
  });

  it('returns the latest 50 in ascending seq by default, hasMore when older ones exist', async () => {
    const p = await list(t, token, channelId);
    expect(p.messages.map((m) => m.seq)).toEqual(seqs(56, 105));
    expect(p.hasMore).toBe(true);
    expect(p.messages[0]).toMatchObject({ content: 'message 56', channelId, createdAt: expect.stringMatching(ISO_MS) });
  });

  it('honours limit 1 and limit 100', async () => {
    expect(await page('?limit=1')).toEqual({ seqs: [105], hasMore: true });
    // A repeated parameter counts with its first value.
    expect(await page('?limit=1&limit=100')).toEqual({ seqs: [105], hasMore: true });
    expect(await page('?limit=100')).toEqual({ seqs: seqs(6, 105), hasMore: true });
    expect(await page('?limit=100&after=0')).toEqual({ seqs: seqs(1, 100), hasMore: true });
    expect(await page('?limit=100&before=101')).toEqual({ seqs: seqs(1, 100), hasMore: false });
  });

  it('pages backwards with before: the last `limit` below it, hasMore when older ones remain', async () => {
    expect(await page('?before=1')).toEqual({ seqs: [], hasMore: false });
    expect(await page('?before=2')).toEqual({ seqs: [1], hasMore: false });
    expect(await page('?before=6&limit=5')).toEqual({ seqs: seqs(1, 5), hasMore: false });
    expect(await page('?before=7&limit=5')).toEqual({ seqs: seqs(2, 6), hasMore: true });
    expect(await page('?before=1000&limit=3')).toEqual({ seqs: [103, 104, 105], hasMore: true });
    expect(await page('?before=0')).toEqual({ seqs: [], hasMore: false });
  });

  it('pages forwards with after (resync): the first `limit` above it, hasMore when newer ones remain', async () => {
    expect(await page('?after=0&limit=3')).toEqual({ seqs: [1, 2, 3], hasMore: true });
    expect(await page('?after=100')).toEqual({ seqs: seqs(101, 105), hasMore: false });
    expect(await page('?after=104')).toEqual({ seqs: [105], hasMore: false });
    expect(await page('?after=103&limit=2')).toEqual({ seqs: [104, 105], hasMore: false });
    expect(await page(`?after=${TOTAL}`)).toEqual({ seqs: [], hasMore: false });
    expect(await page('?after=5000')).toEqual({ seqs: [], hasMore: false });
  });

  it('walks the whole history forwards and backwards without gaps or repeats', async () => {
    const forward: number[] = [];
    for (let after = 0, more = true; more;) {
      const p = await page(`?after=${after}&limit=30`);
      forward.push(...p.seqs);
      after = p.seqs[p.seqs.length - 1] ?? after;
      more = p.hasMore;
    }
    expect(forward).toEqual(seqs(1, TOTAL));
    const backward: number[] = [];
    let p = await page('?limit=30');
    backward.unshift(...p.seqs);
    while (p.hasMore) {
      p = await page(`?before=${p.seqs[0]}&limit=30`);
      backward.unshift(...p.seqs);
    }
    expect(backward).toEqual(seqs(1, TOTAL));
  });

  it('returns 400 bad_request for limit 0 or 101, non-numeric or negative bounds, and before with after', async () => {
    const get = (q: string) => t.api('GET', `/api/channels/${channelId}/messages${q}`, { token });
    expectBadRequest(await get('?limit=0'), 'limit');
    expectBadRequest(await get('?limit=101'), 'limit');
    expectBadRequest(await get('?limit=abc'), 'limit');
    expectBadRequest(await get('?limit=1.5'), 'limit');
    expectBadRequest(await get('?limit='), 'limit');
    expectBadRequest(await get('?before=-1'), 'before');
    expectBadRequest(await get('?after=x'), 'after');
    expectBadRequest(await get('?before=10&after=2'), 'before');
  });

  it('shows a deleted message as a tombstone with its seq', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'tomb', xType: 'general' });
    const reply = await post(t, owner.token, ch.id, 'one');
    const doomed = await post(t, owner.token, ch.id, `two <@${owner.id}>`, { replyToId: reply.id, clientMsgId: 'k2' });
    await post(t, owner.token, ch.id, 'three');
    expect((await t.api('DELETE', `/api/messages/${doomed.id}`, { token: owner.token })).status).toBe(204);
    const p = await list(t, owner.token, ch.id);
    expect(p.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(p.messages[1]).toEqual({
      ...doomed,
      content: '',
      mentions: [],
      attachments: [],
      deletedAt: expect.stringMatching(ISO_MS),
    });
    expect(p.messages[0].content).toBe('one');
    expect(p.messages[2].content).toBe('three');
  });
});

describe('who may read messages', () => {
  async function seedPrivateAndPublic() {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [author, outsider] = members;
    const admin = await t.centerApi.user('admin');
    await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [admin.id], role: 'admin' } });
    const guildToken = await t.centerApi.guildToken(guildId);
    const priv = await createChannel(t, author.token, { guildId, name: 'private', xType: 'general' });
    const pub = await createChannel(t, author.token, { guildId, name: 'public', xType: 'general', isPublic: true });
    const privMsg = await post(t, author.token, priv.id, 'secret');
    const pubMsg = await post(t, author.token, pub.id, 'open');
    return { owner, admin, author, outsider, guildToken, priv, pub, privMsg, pubMsg };
  }

  it('lets members, guild owner/admin and the guild token read a private channel; others get 404', async () => {
    const s = await seedPrivateAndPublic();
    const stranger = await t.centerApi.user('stranger');
    for (const token of [s.author.token, s.owner.token, s.admin.token, s.guildToken]) {
      expect((await list(t, token, s.priv.id)).messages.map((m) => m.content)).toEqual(['secret']);
      const one = await t.api('GET', `/api/messages/${s.privMsg.id}`, { token });
      expect(one.status).toBe(200);
      expect(one.body.message).toEqual(s.privMsg);
    }
    for (const token of [s.outsider.token, stranger.token]) {
      expectError(await t.api('GET', `/api/channels/${s.priv.id}/messages`, { token }), 404, 'not_found');
      expectError(await t.api('GET', `/api/messages/${s.privMsg.id}`, { token }), 404, 'not_found');
    }
  });

  it('lets every guild member read a public channel, and nobody outside the guild', async () => {
    const s = await seedPrivateAndPublic();
    expect((await list(t, s.outsider.token, s.pub.id)).messages.map((m) => m.content)).toEqual(['open']);
    expect((await t.api('GET', `/api/messages/${s.pubMsg.id}`, { token: s.outsider.token })).body.message).toEqual(s.pubMsg);
    const stranger = await t.centerApi.user('stranger');
    expectError(await t.api('GET', `/api/channels/${s.pub.id}/messages`, { token: stranger.token }), 404, 'not_found');
    expectError(await t.api('GET', `/api/messages/${s.pubMsg.id}`, { token: stranger.token }), 404, 'not_found');
  });

  it('returns 401 without a token and 404 for unknown channels and messages', async () => {
    const s = await seedPrivateAndPublic();
    expectError(await t.api('GET', `/api/channels/${s.pub.id}/messages`), 401, 'unauthorized');
    expectError(await t.api('GET', `/api/messages/${s.pubMsg.id}`), 401, 'unauthorized');
    expectError(await t.api('GET', '/api/channels/no-such-channel/messages', { token: s.author.token }), 404, 'not_found');
    expectError(await t.api('GET', '/api/messages/no-such-message', { token: s.author.token }), 404, 'not_found');
  });
});

describe('GET /api/messages/:messageId', () => {
  it('returns the message, and its tombstone once deleted', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'one', xType: 'general' });
    const m = await post(t, owner.token, ch.id, 'hello');
    expect((await t.api('GET', `/api/messages/${m.id}`, { token: owner.token })).body).toEqual({ message: m });
    await t.api('DELETE', `/api/messages/${m.id}`, { token: owner.token });
    const gone = await t.api('GET', `/api/messages/${m.id}`, { token: owner.token });
    expect(gone.status).toBe(200);
    expect(gone.body.message).toMatchObject({ id: m.id, seq: 1, content: '', deletedAt: expect.stringMatching(ISO_MS) });
  });
});
