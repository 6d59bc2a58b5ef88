/**
 * A plain post refused under the channel lock (its author removed since this process last saw
 * the channel) sends that author's next posts there through the channel read first
 * (lib/messages/refused-authors.ts): the same answers (a non-member's 404), but on MySQL they no longer enter
 * the group commit, where one refused post fails its whole batch. A member added back posts
 * again at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postBatchSize } from '../lib/metrics.js';
import { forgetRefusal, recentlyRefused, rememberRefusal } from '../lib/messages/refused-authors.js';
import { createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode();
});
afterAll(async () => {
  await t?.close();
});

/** Posts (batches of any size) the group commit has taken so far; 0 on SQLite. */
const postsBatched = async () => (await postBatchSize.get()).values.find((v) => v.metricName === 'fabric_post_batch_size_sum')?.value ?? 0;

describe('the route of an author refused under the lock', () => {
  it('answers as a non-member (404) without entering the group commit again, and lets the author post at once when added back', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const member = members[0];
    const ch = await createChannel(t, owner.token, { guildId, name: 'refusals', xType: 'general', memberUserIds: [member.id] });
    const post = (token: string, content: string) => t.api('POST', `/api/channels/${ch.id}/messages`, { token, body: { content } });
    // The process now knows the channel: the member's plain posts take the one-trip route.
    expect((await post(member.token, 'before')).status).toBe(201);
    expect((await t.api('DELETE', `/api/channels/${ch.id}/members/${member.id}`, { token: owner.token })).status).toBe(204);

    // Refused under the lock once (the process did not know of the removal), then read first.
    expect((await post(member.token, 'refused under the lock')).status).toBe(404);
    const batchedBefore = await postsBatched();
    for (let i = 0; i < 5; i++) {
      const refused = await post(member.token, `again ${i}`);
      expect(refused.status).toBe(404);
      expect(refused.body.error.code).toBe('not_found');
    }
    expect(await postsBatched()).toBe(batchedBefore);

    // Others post as before; the member, added back, posts at once and gets the next seq.
    expect((await post(owner.token, 'owner')).status).toBe(201);
    expect((await t.api('POST', `/api/channels/${ch.id}/members`, { token: owner.token, body: { userIds: [member.id] } })).status).toBeLessThan(300);
    const back = await post(member.token, 'back');
    expect(back.status).toBe(201);
    expect(back.body.message.seq).toBe(3);
    if (t.node.ctx.database.dialect === 'mysql') expect(await postsBatched()).toBeGreaterThan(batchedBefore);
  });
});

describe('the route of posts in a channel with an agent loop limit', () => {
  // The one-trip route stores only in channels without a limit (the guard is counted under
  // the lock): a post it refused for that would fail its whole group-commit batch on MySQL.
  it('goes straight to the locked route while the channel has a limit, and back to the group commit once it is off', async () => {
    const { owner, members, guildId } = await seedGuild(t, 1);
    const member = members[0];
    const ch = await createChannel(t, owner.token, { guildId, name: 'guarded', xType: 'general', memberUserIds: [member.id], agentLoopLimit: 5 });
    const post = (content: string) => t.api('POST', `/api/channels/${ch.id}/messages`, { token: member.token, body: { content } });
    expect((await post('the process reads the channel')).status).toBe(201);
    const batchedBefore = await postsBatched();
    for (let i = 0; i < 5; i++) expect((await post(`guarded ${i}`)).body.message.seq).toBe(i + 2);
    expect(await postsBatched()).toBe(batchedBefore);
    expect((await t.api('PATCH', `/api/channels/${ch.id}`, { token: owner.token, body: { agentLoopLimit: null } })).status).toBe(200);
    expect((await post('read once more')).status).toBe(201);
    expect((await post('one trip again')).body.message.seq).toBe(8);
    if (t.node.ctx.database.dialect === 'mysql') expect(await postsBatched()).toBeGreaterThan(batchedBefore);
  });
});

describe('refused-authors', () => {
  it('remembers a refusal for a while, per channel and author, until forgotten', () => {
    const now = 1_000_000;
    rememberRefusal('c1', 'u1', now);
    expect(recentlyRefused('c1', 'u1', now + 1)).toBe(true);
    expect(recentlyRefused('c1', 'u2', now + 1)).toBe(false);
    expect(recentlyRefused('c2', 'u1', now + 1)).toBe(false);
    expect(recentlyRefused('c1', 'u1', now + 30_001)).toBe(false);
    rememberRefusal('c1', 'u1', now);
    forgetRefusal('c1', 'u1');
    expect(recentlyRefused('c1', 'u1', now + 1)).toBe(false);
  });
});
