/**
 * Seq allocation under concurrency (api.md "Messages", overview.md "Message"): per channel
 * 1, 2, 3, … with no gaps and no duplicates, in commit order — for concurrent posts into one
 * channel, into several channels at once, and from two API processes sharing the database.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startApiProcess, type RunningProcess } from '../scripts/processes.js';
import { seededRandom } from '../lib/turns/engine.js';
import { apiClient, createChannel, seedGuild, startTestNode, type TestNode } from './helpers/harness.js';
import { lastSeq, list, post } from './helpers/messages.js';

let t: TestNode;
let second: RunningProcess;
beforeAll(async () => {
  t = await startTestNode({ random: seededRandom(3) });
  // A second, stateless API process on the same database (split mode without realtime).
  second = await startApiProcess({ ...t.node.ctx.config, port: 0, realtimeInternalUrl: 'none' }, { heartbeat: false, jobs: false });
});
afterAll(async () => {
  await second?.close();
  await t?.close();
});

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Asserts seqs 1..n in the responses and in the stored history, each post stored exactly once. */
async function expectSeqs(token: string, channelId: string, responses: { status: number; body: any }[], n: number) {
  expect(responses.map((r) => r.status)).toEqual(Array(n).fill(201));
  expect(responses.map((r) => r.body.message.seq).sort((a, b) => a - b)).toEqual(range(n));
  const page = await list(t, token, channelId, '?after=0&limit=100');
  expect(page.messages.map((m) => m.seq)).toEqual(range(n));
  expect(new Set(page.messages.map((m) => m.content)).size).toBe(n);
  // Each response's seq is the seq its content was stored under.
  const bySeq = new Map(page.messages.map((m) => [m.seq, m.content]));
  for (const r of responses) expect(bySeq.get(r.body.message.seq)).toBe(r.body.message.content);
  // createdAt is taken under the channel lock: it never decreases along seq.
  const times = page.messages.map((m) => m.createdAt as string);
  expect([...times].sort()).toEqual(times);
  expect(await lastSeq(t, token, channelId)).toBe(n);
}

describe('POST /api/channels/:channelId/messages — seq under concurrency', () => {
  it('gives 50 concurrent posts into one channel exactly the seqs 1..50', async () => {
    const { owner, members, guildId } = await seedGuild(t, 4);
    const ch = await createChannel(t, owner.token, { guildId, name: 'busy', xType: 'general', memberUserIds: members.map((m) => m.id) });
    const authors = [owner, ...members];
    const responses = await Promise.all(
      range(50).map((i) => t.api('POST', `/api/channels/${ch.id}/messages`, { token: authors[i % authors.length].token, body: { content: `m${i}` } })),
    );
    await expectSeqs(owner.token, ch.id, responses, 50);
  });

  it('gives 50 concurrent posts into each of several channels at once exactly the seqs 1..50 per channel', async () => {
    const { owner, members, guildId } = await seedGuild(t, 3);
    const ids = members.map((m) => m.id);
    const channels = await Promise.all(
      (['general', 'discuss', 'work', 'triage'] as const).map((xType) =>
        createChannel(t, owner.token, { guildId, name: xType, xType, memberUserIds: ids, ...(xType === 'triage' ? { wakeUserIds: [ids[0]] } : {}) }),
      ),
    );
    const authors = [owner, ...members];
    const all = await Promise.all(
      channels.flatMap((ch) =>
        range(50).map(async (i) => ({
          channelId: ch.id,
          response: await t.api('POST', `/api/channels/${ch.id}/messages`, { token: authors[i % authors.length].token, body: { content: `${ch.xType}-${i}` } }),
        })),
      ),
    );
    for (const ch of channels) {
      await expectSeqs(
        owner.token,
        ch.id,
        all.filter((x) => x.channelId === ch.id).map((x) => x.response),
        50,
      );
    }
  });

  it('gives 50 posts spread over two API processes on one database exactly the seqs 1..50', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const ch = await createChannel(t, owner.token, { guildId, name: 'shared', xType: 'discuss', memberUserIds: members.map((m) => m.id) });
    const apis = [t.api, apiClient(second.url)];
    const authors = [owner, ...members];
    const responses = await Promise.all(
      range(50).map((i) => apis[i % 2]('POST', `/api/channels/${ch.id}/messages`, { token: authors[i % authors.length].token, body: { content: `p${i}` } })),
    );
    await expectSeqs(owner.token, ch.id, responses, 50);
  });

  it('stores one message for concurrent retries of one clientMsgId through two API processes', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'retry', xType: 'general' });
    const apis = [t.api, apiClient(second.url)];
    const responses = await Promise.all(
      range(20).map((i) => apis[i % 2]('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: `r${i}`, clientMsgId: 'once' } })),
    );
    expect(responses.filter((r) => r.status === 201)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(responses.map((r) => r.body.message.id)).size).toBe(1);
    expect((await list(t, owner.token, ch.id)).messages).toHaveLength(1);
    expect(await lastSeq(t, owner.token, ch.id)).toBe(1);
  });
  it('answers each post of a concurrent burst on its own when some are refused: the others keep gapless seqs', async () => {
    // On MySQL, posts that are ready together share one transaction (lib/db/mysql-post-batches.ts;
    // test/messages-post-batches.test.ts makes the batches deterministic): a refused post in
    // such a batch must cost its batch-mates nothing but a retry.
    const { owner, members, guildId } = await seedGuild(t, 4);
    const [stays, leavesChannel, leavesGuild, retries] = members;
    const ids = members.map((m) => m.id);
    const open = await Promise.all(['a', 'b', 'c'].map((name) => createChannel(t, owner.token, { guildId, name, xType: 'general', isPublic: true, memberUserIds: ids })));
    const closed = await createChannel(t, owner.token, { guildId, name: 'closed', xType: 'general', memberUserIds: ids });
    // Public: a removed member still reads them, so its post is refused with 403.
    // Each channel has been posted to, so this process takes the one-round-trip path for all of them.
    for (const ch of [...open, closed]) expect((await t.api('POST', `/api/channels/${ch.id}/messages`, { token: owner.token, body: { content: 'first' } })).status).toBe(201);
    const earlier = await t.api('POST', `/api/channels/${open[0].id}/messages`, { token: retries.token, body: { content: 'once', clientMsgId: 'retry-1' } });
    expect(earlier.status).toBe(201);
    expect((await t.api('DELETE', `/api/channels/${open[1].id}/members/${leavesChannel.id}`, { token: owner.token })).status).toBe(204);
    expect((await t.api('DELETE', `/api/guilds/${guildId}/members/${leavesGuild.id}`, { token: owner.token })).status).toBe(204);
    expect((await t.api('PATCH', `/api/channels/${closed.id}`, { token: owner.token, body: { closed: true } })).status).toBe(200);

    const post = (channelId: string, token: string, body: object) => t.api('POST', `/api/channels/${channelId}/messages`, { token, body });
    const valid = (i: number) => post(open[i % 3].id, [owner, stays][i % 2].token, { content: `ok-${i}` });
    const burst = await Promise.all([
      ...range(20).map((i) => valid(i)),
      post(open[1].id, leavesChannel.token, { content: 'not a member any more' }),
      post(open[2].id, leavesGuild.token, { content: 'not in the guild any more' }),
      post(closed.id, owner.token, { content: 'closed' }),
      post(open[0].id, retries.token, { content: 'a retry', clientMsgId: 'retry-1' }),
      ...range(20).map((i) => valid(20 + i)),
    ]);

    const [removed, outsider, refusedClosed, retried] = burst.slice(20, 24);
    expect(removed.status).toBe(403);
    expect(removed.body.error.code).toBe('forbidden');
    expect(outsider.status).toBe(404);
    expect(refusedClosed.status).toBe(409);
    expect(refusedClosed.body.error.code).toBe('channel_closed');
    expect(retried.status).toBe(200);
    expect(retried.body.message).toEqual(earlier.body.message);
    const ok = [...burst.slice(0, 20), ...burst.slice(24)];
    expect(ok.map((r) => r.status)).toEqual(Array(40).fill(201));
    for (const [i, ch] of open.entries()) {
      // 'first', the earlier clientMsgId post in channel a, then this channel's share of the 40.
      const expected = 1 + (i === 0 ? 1 : 0) + ok.filter((r) => r.body.message.channelId === ch.id).length;
      const page = await list(t, owner.token, ch.id, '?after=0&limit=100');
      expect(page.messages.map((m) => m.seq)).toEqual(range(expected));
      expect(await lastSeq(t, owner.token, ch.id)).toBe(expected);
    }
    expect(await lastSeq(t, owner.token, closed.id)).toBe(1);
  });

  it('keeps createdAt from going down along seq when a channel moves between the locked path and the group commit, whatever the clock of this host says', async () => {
    // A loop limit sends posts through the path that counts them under the lock; without one
    // they go through the group commit. On MySQL both must stamp posts with the database's
    // clock: here this host's clock runs 5 s ahead of it (on SQLite it is the one clock).
    const { owner, guildId } = await seedGuild(t, 0);
    const ch = await createChannel(t, owner.token, { guildId, name: 'clocks', xType: 'general', agentLoopLimit: 5 });
    const real = Date.now.bind(Date);
    const ahead = vi.spyOn(Date, 'now').mockImplementation(() => real() + 5000);
    try {
      await post(t, owner.token, ch.id, 'counted under the lock');
      expect((await t.api('PATCH', `/api/channels/${ch.id}`, { token: owner.token, body: { agentLoopLimit: null } })).status).toBe(200);
      await post(t, owner.token, ch.id, 'in a group commit');
      expect((await t.api('PATCH', `/api/channels/${ch.id}`, { token: owner.token, body: { agentLoopLimit: 5 } })).status).toBe(200);
      await post(t, owner.token, ch.id, 'under the lock again');
    } finally {
      ahead.mockRestore();
    }
    const page = await list(t, owner.token, ch.id);
    expect(page.messages.map((m) => m.seq)).toEqual([1, 2, 3]);
    const times = page.messages.map((m) => Date.parse(m.createdAt as string));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
