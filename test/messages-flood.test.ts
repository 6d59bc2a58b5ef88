/**
 * The post flood limit (agent-rooms.md "Flood control", api.md's 429 row): per user and
 * channel, a token bucket; over it 429 rate_limited with Retry-After, nothing stored, no
 * event; a repeated clientMsgId is answered as before; intercepted commands count; the limit
 * holds across two API servers sharing one database. Edits have a bucket of their own
 * (docs/operating-limits.md). Real HTTP, real sockets, both databases.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../lib/config.js';
import { startAllInOne, type RunningProcess } from '../scripts/processes.js';
import { expectError } from './helpers/expect-error.js';
import {
  apiClient,
  centerClient,
  createChannel,
  createTestDatabase,
  nodeEnv,
  recordEvents,
  seedGuild,
  sleep,
  startCenter,
  startTestNode,
  waitFor,
  type ApiResponse,
  type TestDatabase,
  type TestNode,
} from './helpers/harness.js';
import { joinRoom, lastSeq, postMessage } from './helpers/messages.js';

/** One post (and one edit) every 2 s, buckets of 5: tight enough that a test reaches them in a few requests. */
const TIGHT = {
  FABRIC_BACKEND_GUILD_POST_RATE_PER_SECOND: '0.5',
  FABRIC_BACKEND_GUILD_POST_BURST: '5',
  FABRIC_BACKEND_GUILD_EDIT_RATE_PER_SECOND: '0.5',
  FABRIC_BACKEND_GUILD_EDIT_BURST: '5',
};
const BURST = 5;
/** Posts the bucket may have refilled while a test ran for `ms` (one every 2 s, plus the one in progress). */
const refilledIn = (ms: number) => Math.floor(ms / 2000) + 1;

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ env: TIGHT });
});
afterAll(async () => t?.close());

async function seedChannel(node: TestNode = t, xType = 'general') {
  const { owner, members, guildId } = await seedGuild(node, 2);
  const [author, other] = members;
  const channel = await createChannel(node, owner.token, { guildId, name: 'room', xType, memberUserIds: [author.id, other.id] });
  return { owner, author, other, guildId, channelId: channel.id };
}

/** Posts until the first 429 (at most `max` tries); returns the 201s and the 429. */
async function postUntilLimited(node: TestNode, token: string, channelId: string, max = 50) {
  const created: ApiResponse[] = [];
  for (let i = 0; i < max; i++) {
    const r = await postMessage(node, token, channelId, { content: `post ${i}` });
    if (r.status === 429) return { created, limited: r };
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    created.push(r);
  }
  throw new Error(`no 429 in ${max} posts`);
}

/**
 * Asserts that the bucket is (still) empty: within 3 posts one is refused with 429. Not
 * just the next one: on a slow machine a post may have refilled since the last refusal.
 */
async function expectStillLimited(post: (i: number) => Promise<ApiResponse>) {
  for (let i = 0; i < 3; i++) {
    const r = await post(i);
    if (r.status === 429) return expectError(r, 429, 'rate_limited');
    expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
  }
  throw new Error('three posts in a row went through an empty bucket');
}

const messageCount = async (node: TestNode, token: string, channelId: string) =>
  (await node.api('GET', `/api/channels/${channelId}/messages?limit=100`, { token })).body.messages.length as number;

describe('POST /api/channels/:channelId/messages over the flood limit', () => {
  it('lets a burst through, then answers 429 rate_limited with Retry-After, storing nothing and emitting nothing', async () => {
    const { author, other, channelId } = await seedChannel();
    const socket = await t.socket(other.token);
    await joinRoom(socket, channelId);
    const created = recordEvents(socket, 'message.created');
    const started = Date.now();
    const { created: ok, limited } = await postUntilLimited(t, author.token, channelId);
    expect(ok.length).toBeGreaterThanOrEqual(BURST);
    expect(ok.length).toBeLessThanOrEqual(BURST + refilledIn(Date.now() - started));
    expectError(limited, 429, 'rate_limited');
    const retryAfter = limited.headers.get('retry-after');
    expect(retryAfter).toMatch(/^\d+$/);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(2);
    const seq = await lastSeq(t, author.token, channelId);
    expect(seq).toBe(ok.length);
    expect(await messageCount(t, author.token, channelId)).toBe(ok.length);
    await waitFor('the events of the stored posts', async () => (created.length >= ok.length ? true : undefined), 5000);
    await sleep(200);
    expect(created.map((m) => m.seq)).toEqual(ok.map((r) => r.body.message.seq));
  });

  it('limits per user and per channel: another member, or the same user elsewhere, still posts', async () => {
    const { owner, author, other, guildId, channelId } = await seedChannel();
    await postUntilLimited(t, author.token, channelId);
    expect((await postMessage(t, other.token, channelId, { content: 'mine' })).status).toBe(201);
    const second = await createChannel(t, owner.token, { guildId, name: 'second', xType: 'general', memberUserIds: [author.id] });
    expect((await postMessage(t, author.token, second.id, { content: 'elsewhere' })).status).toBe(201);
  });

  it('answers a repeated clientMsgId of a stored message as before, over the limit, without taking a token', async () => {
    const { author, channelId } = await seedChannel();
    const first = await postMessage(t, author.token, channelId, { content: 'once', clientMsgId: 'retry-me' });
    expect(first.status).toBe(201);
    // Retries of a stored message take nothing: the whole burst is still there after them.
    for (let i = 0; i < 3; i++) {
      const again = await postMessage(t, author.token, channelId, { content: 'once', clientMsgId: 'retry-me' });
      expect(again.status).toBe(200);
      expect(again.body.message.id).toBe(first.body.message.id);
    }
    const started = Date.now();
    const { created } = await postUntilLimited(t, author.token, channelId);
    expect(created.length).toBeGreaterThanOrEqual(BURST - 1);
    expect(created.length).toBeLessThanOrEqual(BURST - 1 + refilledIn(Date.now() - started));
    const over = await postMessage(t, author.token, channelId, { content: 'once', clientMsgId: 'retry-me' });
    expect(over.status).toBe(200);
    expect(over.body.message.id).toBe(first.body.message.id);
    // A new clientMsgId over the limit is refused like any post.
    await expectStillLimited((i) => postMessage(t, author.token, channelId, { content: 'new', clientMsgId: `fresh-${i}` }));
  });

  it('counts intercepted commands: /no-reply takes a token, and is refused with 429 over the limit', async () => {
    const { author, channelId } = await seedChannel();
    const started = Date.now();
    let accepted = 0;
    let limited: ApiResponse | undefined;
    for (let i = 0; i < 30 && !limited; i++) {
      const r = await postMessage(t, author.token, channelId, { content: '/no-reply' });
      if (r.status === 429) limited = r;
      else {
        expect(r.status).toBe(200);
        expect(r.body.intercepted).toBe('no-reply');
        accepted++;
      }
    }
    expect(limited).toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(accepted).toBeLessThanOrEqual(BURST + refilledIn(Date.now() - started));
    await expectStillLimited(() => postMessage(t, author.token, channelId, { content: 'a message now' }));
  });

  it('takes no token for a post refused with another error, and answers 403/404 before 429', async () => {
    const { owner, author, guildId, channelId } = await seedChannel();
    for (let i = 0; i < BURST + 3; i++) {
      expectError(await postMessage(t, author.token, channelId, { content: 'bad', replyToId: 'no-such-message' }), 400, 'invalid_reference');
    }
    const started = Date.now();
    const { created } = await postUntilLimited(t, author.token, channelId);
    expect(created.length).toBeGreaterThanOrEqual(BURST);
    expect(created.length).toBeLessThanOrEqual(BURST + refilledIn(Date.now() - started));
    // A guild member outside a private channel keeps getting 404 however often it tries.
    const stranger = (await seedGuild(t, 0)).owner;
    await t.api('POST', `/api/guilds/${guildId}/members`, { token: owner.token, body: { userIds: [stranger.id] } });
    for (let i = 0; i < BURST + 3; i++) expectError(await postMessage(t, stranger.token, channelId, { content: 'x' }), 404, 'not_found');
    // A member removed after emptying its bucket is told 403, not 429.
    const pub = await createChannel(t, owner.token, { guildId, name: 'public', xType: 'general', isPublic: true, memberUserIds: [author.id] });
    await postUntilLimited(t, author.token, pub.id);
    expect((await t.api('DELETE', `/api/channels/${pub.id}/members/${author.id}`, { token: owner.token })).status).toBe(204);
    expectError(await postMessage(t, author.token, pub.id, { content: 'x' }), 403, 'forbidden');
  });

  it('refuses concurrent posts beyond the bucket: exactly what was answered 201 is stored', async () => {
    const { author, channelId } = await seedChannel();
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => postMessage(t, author.token, channelId, { content: `c${i}` })));
    const elapsed = Date.now() - started;
    const ok = answers.filter((r) => r.status === 201);
    expect(answers.filter((r) => r.status !== 201).every((r) => r.status === 429 && r.body.error.code === 'rate_limited')).toBe(true);
    expect(ok.length).toBeGreaterThanOrEqual(BURST);
    expect(ok.length).toBeLessThanOrEqual(BURST + refilledIn(elapsed));
    expect(await messageCount(t, author.token, channelId)).toBe(ok.length);
  });

  it('lets browsers read Retry-After (exposed to CORS callers)', async () => {
    const { author, channelId } = await seedChannel();
    await postUntilLimited(t, author.token, channelId);
    const fromBrowser = () => t.api('POST', `/api/channels/${channelId}/messages`, { token: author.token, body: { content: 'b' }, headers: { origin: 'http://app.example' } });
    let r = await fromBrowser();
    for (let i = 0; i < 2 && r.status !== 429; i++) r = await fromBrowser(); // a post may have refilled meanwhile
    expectError(r, 429, 'rate_limited');
    expect(r.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('retry-after');
  });

  it('refills: once Retry-After has passed, the next post is stored', async () => {
    const { author, channelId } = await seedChannel();
    const { limited } = await postUntilLimited(t, author.token, channelId);
    await sleep(Number(limited.headers.get('retry-after')) * 1000);
    expect((await postMessage(t, author.token, channelId, { content: 'after the wait' })).status).toBe(201);
  });
});

describe('PATCH /api/messages/:messageId over the edit flood limit', () => {
  const edit = (token: string, messageId: string, content: string) => t.api('PATCH', `/api/messages/${messageId}`, { token, body: { content } });

  /** Edits until the first 429 (at most `max` tries); returns the 200s and the 429. */
  async function editUntilLimited(token: string, messageId: string, max = 50) {
    const edited: ApiResponse[] = [];
    for (let i = 0; i < max; i++) {
      const r = await edit(token, messageId, `edit ${i}`);
      if (r.status === 429) return { edited, limited: r };
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      edited.push(r);
    }
    throw new Error(`no 429 in ${max} edits`);
  }

  it('lets a burst of edits through, then answers 429 rate_limited with Retry-After, changing nothing and emitting nothing', async () => {
    const { author, other, channelId } = await seedChannel();
    const message = (await postMessage(t, author.token, channelId, { content: 'draft' })).body.message;
    const socket = await t.socket(other.token);
    await joinRoom(socket, channelId);
    const updated = recordEvents(socket, 'message.updated');
    const started = Date.now();
    const { edited, limited } = await editUntilLimited(author.token, message.id);
    expect(edited.length).toBeGreaterThanOrEqual(BURST);
    expect(edited.length).toBeLessThanOrEqual(BURST + refilledIn(Date.now() - started));
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(2);
    // The refused edit left the last accepted content, and only accepted edits were announced.
    const stored = await t.api('GET', `/api/channels/${channelId}/messages?limit=10`, { token: author.token });
    expect(stored.body.messages.find((m: { id: string }) => m.id === message.id).content).toBe(`edit ${edited.length - 1}`);
    await waitFor('the events of the accepted edits', async () => (updated.length >= edited.length ? true : undefined), 5000);
    await sleep(200);
    expect(updated.map((m) => m.content)).toEqual(edited.map((r) => r.body.message.content));
  });

  it('keeps edits and posts apart: an empty edit bucket leaves posting alone, and the other way round', async () => {
    const { author, channelId } = await seedChannel();
    const message = (await postMessage(t, author.token, channelId, { content: 'draft' })).body.message;
    await editUntilLimited(author.token, message.id);
    // One post went into the draft above; the post bucket still holds the rest of its burst.
    const { created } = await postUntilLimited(t, author.token, channelId);
    expect(created.length).toBeGreaterThanOrEqual(BURST - 1);
    const other = await seedChannel();
    const second = (await postMessage(t, other.author.token, other.channelId, { content: 'draft' })).body.message;
    await postUntilLimited(t, other.author.token, other.channelId);
    expect((await edit(other.author.token, second.id, 'still editable')).status).toBe(200);
  });

  it('takes no edit token for an edit refused with another error', async () => {
    const { author, other, channelId } = await seedChannel();
    const message = (await postMessage(t, author.token, channelId, { content: 'draft' })).body.message;
    for (let i = 0; i < BURST + 3; i++) {
      expectError(await edit(author.token, message.id, '   '), 400, 'bad_request');
      expectError(await edit(other.token, message.id, 'not mine'), 403, 'forbidden');
    }
    const started = Date.now();
    const { edited } = await editUntilLimited(author.token, message.id);
    expect(edited.length).toBeGreaterThanOrEqual(BURST);
    expect(edited.length).toBeLessThanOrEqual(BURST + refilledIn(Date.now() - started));
  });
});

describe('the flood limit at its defaults (5 posts/s, bucket of 60)', () => {
  let d: TestNode;
  beforeAll(async () => {
    d = await startTestNode({ env: { FABRIC_BACKEND_GUILD_POST_RATE_PER_SECOND: '', FABRIC_BACKEND_GUILD_POST_BURST: '' } });
  });
  afterAll(async () => d?.close());

  it('lets 60 posts through and stops a client that keeps posting as fast as it can', { timeout: 90_000 }, async () => {
    const { author, channelId } = await seedChannel(d);
    const started = Date.now();
    let created = 0;
    let limited: ApiResponse | undefined;
    // Ten at a time: well above 5 posts/s even on a slow machine.
    for (let round = 0; round < 60 && !limited; round++) {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => postMessage(d, author.token, channelId, { content: `r${round}-${i}` })));
      for (const r of answers) {
        if (r.status === 429) limited ??= r;
        else expect(r.status, JSON.stringify(r.body)).toBe(201);
      }
      created += answers.filter((r) => r.status === 201).length;
    }
    expect(limited).toBeDefined();
    expect(created).toBeGreaterThanOrEqual(60);
    expect(created).toBeLessThanOrEqual(60 + Math.ceil(((Date.now() - started) / 1000) * 5) + 1);
    expectError(limited!, 429, 'rate_limited');
    expect(Number(limited!.headers.get('retry-after'))).toBe(1);
  });
});

describe('the flood limit across two API servers on one database', () => {
  let db: TestDatabase;
  let servers: RunningProcess[] = [];
  let a: TestNode;
  let center: Awaited<ReturnType<typeof startCenter>>;
  beforeAll(async () => {
    center = await startCenter();
    db = await createTestDatabase();
    const config = loadConfig(nodeEnv(center, db, TIGHT));
    const started = [await startAllInOne(config, { heartbeat: false }), await startAllInOne(config, { heartbeat: false })];
    servers = started;
    const url = servers[0].url;
    a = { url, node: started[0], center, api: apiClient(url), centerApi: centerClient(center), socket: () => Promise.reject(new Error('unused')), close: async () => {} };
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await center?.close();
    await db?.drop();
  });

  it('shares one bucket: posts alternating between the servers stop at the same count', async () => {
    const { author, channelId } = await seedChannel(a);
    const apis = servers.map((s) => apiClient(s.url));
    const started = Date.now();
    let ok = 0;
    let limited: ApiResponse | undefined;
    for (let i = 0; i < 40 && !limited; i++) {
      const r = await apis[i % 2]('POST', `/api/channels/${channelId}/messages`, { token: author.token, body: { content: `p${i}` } });
      if (r.status === 429) limited = r;
      else {
        expect(r.status).toBe(201);
        ok++;
      }
    }
    expect(limited).toBeDefined();
    expect(ok).toBeGreaterThanOrEqual(BURST);
    expect(ok).toBeLessThanOrEqual(BURST + refilledIn(Date.now() - started));
    // Both servers now refuse.
    for (const api of apis) {
      await expectStillLimited(() => api('POST', `/api/channels/${channelId}/messages`, { token: author.token, body: { content: 'x' } }));
    }
  });
});
