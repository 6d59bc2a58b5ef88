/**
 * Read positions (agent-rooms.md "Read positions"): PUT /api/channels/:channelId/read, and
 * readSeq / unreadCount on GET /api/channels/:channelId and the channel list. Real HTTP,
 * both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBadRequest, expectError } from './helpers/expect-error.js';
import { createChannel, startTestNode, type TestNode } from './helpers/harness.js';
import { post } from './helpers/messages.js';
import { seedWorld, type World } from './helpers/world.js';

let t: TestNode;
let w: World;
beforeAll(async () => {
  t = await startTestNode();
  w = await seedWorld(t);
});
afterAll(async () => t?.close());

const putRead = (token: string, channelId: string, body: unknown) => t.api('PUT', `/api/channels/${channelId}/read`, { token, body });
const getChannel = async (token: string, channelId: string) => {
  const r = await t.api('GET', `/api/channels/${channelId}`, { token });
  expect(r.status).toBe(200);
  return r.body.channel;
};
const listed = async (token: string, channelId: string) => {
  const r = await t.api('GET', `/api/channels?guildId=${w.guildId}`, { token });
  expect(r.status).toBe(200);
  return r.body.channels.find((c: { id: string }) => c.id === channelId);
};

/** A channel of m1 with m2 in it: m1 posts `byM1` messages, m2 posts `byM2`, in that order. */
async function channelWith(byM1: number, byM2: number, isPublic = false) {
  const ch = await createChannel(t, w.m1.token, { guildId: w.guildId, name: `read-${Math.random()}`, xType: 'general', isPublic, memberUserIds: [w.m2.id] });
  for (let i = 0; i < byM1; i++) await post(t, w.m1.token, ch.id, `m1 ${i}`);
  for (let i = 0; i < byM2; i++) await post(t, w.m2.token, ch.id, `m2 ${i}`);
  return ch.id;
}

describe('PUT /api/channels/:channelId/read', () => {
  it('stores the position and answers {readSeq}; GET and the list show readSeq and unreadCount', async () => {
    const channelId = await channelWith(4, 2);
    expect(await getChannel(w.m2.token, channelId)).toMatchObject({ lastSeq: 6, readSeq: 0, unreadCount: 4 });
    const r = await putRead(w.m2.token, channelId, { seq: 3 });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ readSeq: 3 });
    expect(await getChannel(w.m2.token, channelId)).toMatchObject({ readSeq: 3, unreadCount: 1 });
    expect(await listed(w.m2.token, channelId)).toMatchObject({ readSeq: 3, unreadCount: 1, isMember: true });
    // Positions are per user: m1 has read nothing, and its own messages never count.
    expect(await getChannel(w.m1.token, channelId)).toMatchObject({ readSeq: 0, unreadCount: 2 });
  });

  it('stores a seq above lastSeq as lastSeq, and ignores a move backwards (answering the stored one)', async () => {
    const channelId = await channelWith(3, 0);
    expect((await putRead(w.m2.token, channelId, { seq: 1000 })).body).toEqual({ readSeq: 3 });
    const back = await putRead(w.m2.token, channelId, { seq: 1 });
    expect(back.status).toBe(200);
    expect(back.body).toEqual({ readSeq: 3 });
    expect((await putRead(w.m2.token, channelId, { seq: 0 })).body).toEqual({ readSeq: 3 });
    await post(t, w.m1.token, channelId, 'new');
    expect(await getChannel(w.m2.token, channelId)).toMatchObject({ readSeq: 3, unreadCount: 1 });
    expect((await putRead(w.m2.token, channelId, { seq: 4 })).body).toEqual({ readSeq: 4 });
  });

  it('does not count deleted messages as unread', async () => {
    const channelId = await channelWith(3, 0);
    const last = await post(t, w.m1.token, channelId, 'to delete');
    expect((await t.api('DELETE', `/api/messages/${last.id}`, { token: w.m1.token })).status).toBe(204);
    expect(await getChannel(w.m2.token, channelId)).toMatchObject({ lastSeq: 4, readSeq: 0, unreadCount: 3 });
  });

  it('keeps the highest of concurrent moves', async () => {
    const channelId = await channelWith(20, 0);
    const seqs = Array.from({ length: 21 }, (_, i) => (i * 8) % 21); // 0…20 in a shuffled order
    const answers = await Promise.all(seqs.map((seq) => putRead(w.m2.token, channelId, { seq })));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(await getChannel(w.m2.token, channelId)).toMatchObject({ readSeq: 20, unreadCount: 0 });
  });

  it('answers 403 to readers who are not members (a guild member of a public channel, an admin, the guild token)', async () => {
    const channelId = await channelWith(1, 0, true);
    expectError(await putRead(w.m3.token, channelId, { seq: 1 }), 403, 'forbidden');
    expectError(await putRead(w.admin.token, channelId, { seq: 1 }), 403, 'forbidden');
    expectError(await putRead(w.guildToken, channelId, { seq: 1 }), 403, 'forbidden');
  });

  it('answers 404 to outsiders and for private channels of others, before a bad body', async () => {
    const channelId = await channelWith(1, 0);
    expectError(await putRead(w.outsider.token, channelId, { seq: 1 }), 404, 'not_found');
    expectError(await putRead(w.m3.token, channelId, { seq: 'x' }), 404, 'not_found');
    expectError(await putRead(w.m2.token, 'no-such-channel', { seq: 1 }), 404, 'not_found');
  });

  it.each([[{}], [{ seq: -1 }], [{ seq: 1.5 }], [{ seq: '3' }], [{ seq: 2 ** 60 }], [{ seq: 1e300 }], [{ seq: -1e300 }]])('answers 400 naming seq (once) for %o', async (body) => {
    const channelId = await channelWith(1, 0);
    const r = await putRead(w.m2.token, channelId, body);
    expectBadRequest(r, 'seq');
    expect(r.body.error.details).toHaveLength(1);
  });

  it('starts again from 0 after leaving and coming back', async () => {
    const channelId = await channelWith(2, 0, true);
    await putRead(w.m2.token, channelId, { seq: 2 });
    expect((await t.api('POST', `/api/channels/${channelId}/leave`, { token: w.m2.token })).status).toBe(200);
    expect((await t.api('POST', `/api/channels/${channelId}/join`, { token: w.m2.token, body: {} })).status).toBe(200);
    expect(await getChannel(w.m2.token, channelId)).toMatchObject({ readSeq: 0, unreadCount: 2 });
  });
});

describe('readSeq and unreadCount for callers without a position', () => {
  it("are 0 and every other author's live message for a reader who is not a member", async () => {
    const channelId = await channelWith(2, 1, true);
    expect(await getChannel(w.m3.token, channelId)).toMatchObject({ readSeq: 0, unreadCount: 3 });
    expect(await listed(w.m3.token, channelId)).toMatchObject({ readSeq: 0, unreadCount: 3, isMember: false });
  });

  it('are null for a guild token, on GET and in the list', async () => {
    const channelId = await channelWith(2, 0);
    expect(await getChannel(w.guildToken, channelId)).toMatchObject({ readSeq: null, unreadCount: null });
    expect(await listed(w.guildToken, channelId)).toMatchObject({ readSeq: null, unreadCount: null });
  });

  it('give every channel of the list its own counts', async () => {
    const a = await channelWith(3, 0);
    const b = await channelWith(1, 0);
    await putRead(w.m2.token, a, { seq: 1 });
    const r = await t.api('GET', `/api/channels?guildId=${w.guildId}`, { token: w.m2.token });
    const byId = new Map(r.body.channels.map((c: { id: string }) => [c.id, c]));
    expect(byId.get(a)).toMatchObject({ readSeq: 1, unreadCount: 2 });
    expect(byId.get(b)).toMatchObject({ readSeq: 0, unreadCount: 1 });
  });
});
