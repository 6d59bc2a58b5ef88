/**
 * Per-recipient `wakeup` on `message.created` (overview.md "Wake rules", realtime.md): for
 * each channel type, what the author, a member (with two sockets), a wake-mapped member and
 * readers who are not members (a guild member on a public channel, the guild owner, the
 * guild token) receive — observed on real sockets, in all-in-one and in split mode (API
 * process → internal emit channel → realtime process).
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiProcess, startRealtimeProcess, type RunningProcess } from '../scripts/processes.js';
import { seededRandom } from '../lib/turns/engine.js';
import { apiClient, connectSocket, nextEvent, recordEvents, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { insertMembers, joinRoom } from './helpers/messages.js';

let t: TestNode;
let realtime: RunningProcess & { internalPort: number };
let api: RunningProcess;
const sockets: Socket[] = [];

beforeAll(async () => {
  t = await startTestNode({ random: seededRandom(11) });
  const secret = 'wake-test-secret';
  realtime = await startRealtimeProcess({ ...t.node.ctx.config, realtimePort: 0, realtimeInternalPort: 0, internalSecret: secret });
  api = await startApiProcess(
    { ...t.node.ctx.config, port: 0, realtimeInternalUrl: `http://127.0.0.1:${realtime.internalPort}`, internalSecret: secret },
    { heartbeat: false, jobs: false },
  );
});
afterAll(async () => {
  for (const s of sockets) s.close();
  await api?.close();
  await realtime?.close();
  await t?.close();
});

interface Deployment {
  api: TestNode['api'];
  socketUrl: string;
}
const modes: [string, () => Deployment][] = [
  ['all-in-one', () => ({ api: t.api, socketUrl: t.url })],
  ['split mode', () => ({ api: apiClient(api.url), socketUrl: realtime.url })],
];

type Who = 'author' | 'member' | 'member (second socket)' | 'wake-mapped' | 'public reader' | 'guild owner (reader)' | 'guild token (reader)';

/** Channel body per type: `author` creates it; `member` and `mapped` are members; `mapped` is on the wake mapping where there is one. */
function channelBody(xType: string, guildId: string, member: TestUser, mapped: TestUser, author: TestUser) {
  const base = { guildId, name: xType, xType, isPublic: true, memberUserIds: [member.id, mapped.id] };
  // The author is mapped too: a message never wakes its own author.
  if (xType === 'triage' || xType === 'custom') return { ...base, memberUserIds: [member.id], wakeUserIds: [mapped.id, author.id] };
  return base; // discuss/work: order [member, mapped], bypass [author]
}

const matrix: [xType: string, woken: Who[], wakeReason: string | null][] = [
  ['general', ['member', 'member (second socket)', 'wake-mapped'], 'general'],
  ['report', [], null],
  ['triage', ['wake-mapped'], 'on_duty'],
  ['custom', ['wake-mapped'], 'listener'],
  // The author's topic starts round 1: the first of the order (member) is the speaker.
  ['discuss', ['member', 'member (second socket)'], 'speaker'],
  ['work', ['member', 'member (second socket)'], 'speaker'],
];

describe.each(modes)('message.created wakeup (%s)', (_, deployment) => {
  async function connect(socketUrl: string, token: string, channelId: string) {
    const s = await connectSocket(socketUrl, token);
    sockets.push(s);
    await joinRoom(s, channelId);
    return s;
  }

  it.each(matrix)('%s channel wakes exactly %j with wakeReason %s', async (xType, woken, wakeReason) => {
    const d = deployment();
    const { owner, members, guildId } = await seedGuild(t, 4);
    const [author, member, mapped, reader] = members;
    const guildToken = await t.centerApi.guildToken(guildId);
    const created = await d.api('POST', '/api/channels', { token: author.token, body: channelBody(xType, guildId, member, mapped, author) });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const channelId: string = created.body.channel.id;
    const cast: [Who, string][] = [
      ['author', author.token],
      ['member', member.token],
      ['member (second socket)', member.token],
      ['wake-mapped', mapped.token],
      ['public reader', reader.token],
      ['guild owner (reader)', owner.token],
      ['guild token (reader)', guildToken],
    ];
    const subscribed = await Promise.all(cast.map(async ([who, token]) => ({ who, socket: await connect(d.socketUrl, token, channelId) })));
    const seen = subscribed.map(({ who, socket }) => ({ who, events: recordEvents(socket, 'message.created') }));

    const firstArrived = subscribed.map(({ socket }) => nextEvent(socket, 'message.created'));
    const r = await d.api('POST', `/api/channels/${channelId}/messages`, { token: author.token, body: { content: 'topic' } });
    expect(r.status).toBe(201);
    await Promise.all(firstArrived);
    // A second message as a sentinel: once it arrived everywhere, no socket can still get a second copy of the first.
    const sentinel = subscribed.map(({ socket }) => nextEvent(socket, 'message.created', 3000, (m) => m.content === 'sentinel'));
    expect((await d.api('POST', `/api/channels/${channelId}/messages`, { token: author.token, body: { content: 'sentinel' } })).status).toBe(201);
    await Promise.all(sentinel);

    for (const { who, events } of seen) {
      const first = events.filter((e) => e.id === r.body.message.id);
      expect(first, `${who} gets the message exactly once`).toHaveLength(1);
      const wakeup = woken.includes(who);
      expect({ who, ...first[0] }).toEqual({ who, ...r.body.message, wakeup, wakeReason: wakeup ? wakeReason : null, pos: expect.any(Number) });
    }
  });
});

describe('message.created wakeup in a discuss channel follows the turn speaker', () => {
  it('wakes the speaker after each message: the first of the order, then the next, then a mentioned member', async () => {
    const { members, guildId } = await seedGuild(t, 4);
    const [h, a, b, c] = members;
    const ch = await t.api('POST', '/api/channels', { token: h.token, body: { guildId, name: 'talk', xType: 'discuss', memberUserIds: [a.id, b.id, c.id] } });
    const channelId: string = ch.body.channel.id;
    const users = { h, a, b, c };
    const socks = Object.fromEntries(await Promise.all(Object.entries(users).map(async ([k, u]) => [k, await connect(u.token, channelId)] as const))) as Record<
      keyof typeof users,
      Socket
    >;
    async function connect(token: string, id: string) {
      const s = await connectSocket(t.url, token);
      sockets.push(s);
      await joinRoom(s, id);
      return s;
    }
    /** Posts as `from` and returns who was woken by the message.created, as letters. */
    async function wokenBy(from: TestUser, content: string): Promise<string[]> {
      const arrivals = Object.entries(socks).map(async ([k, s]) => [k, await nextEvent(s, 'message.created', 3000, (m) => m.content === content)] as const);
      const r = await t.api('POST', `/api/channels/${channelId}/messages`, { token: from.token, body: { content } });
      expect(r.status).toBe(201);
      return (await Promise.all(arrivals)).filter(([, m]) => m.wakeup).map(([k]) => k);
    }
    expect(await wokenBy(h, 'topic')).toEqual(['a']); // round 1 starts, speaker A
    expect(await wokenBy(a, 'A speaks')).toEqual(['b']);
    expect(await wokenBy(b, `B asks <@${a.id}>`)).toEqual(['a']); // mention frame: A answers first
    expect(await wokenBy(a, 'A answers')).toEqual(['c']); // frame closed, root continues with C
    const roundTwoOpener = await wokenBy(c, 'C speaks'); // end of round: the new first of the order, never C
    const turn = await t.api('GET', `/api/channels/${channelId}/turn`, { token: h.token });
    expect(turn.body.turn).toMatchObject({ status: 'active', round: 2 });
    expect(turn.body.turn.order[0]).not.toBe(c.id);
    expect(roundTwoOpener).toEqual([Object.entries(users).find(([, u]) => u.id === turn.body.turn.speakerId)![0]]);
  });
});

describe('message.created wakeup in a large general channel', () => {
  // MariaDB cut the wake list's JSON_ARRAYAGG at group_concat_max_len (1 MiB): the post was a 500 there, a 201 on SQLite.
  it('wakes every member when their ids take over 1 MiB', async () => {
    const { members, guildId } = await seedGuild(t, 2);
    const [author, member] = members;
    const ch = await t.api('POST', '/api/channels', { token: author.token, body: { guildId, name: 'all-hands', xType: 'general', memberUserIds: [member.id] } });
    expect(ch.status).toBe(201);
    const channelId: string = ch.body.channel.id;
    // 9,000 more members with ids of 128 characters (Center's longest): their JSON list is about
    // 1.2 MB. Inserted as rows, because Center's emulator issues short ids and enrolling tens of
    // thousands of users over HTTP would take minutes; the post and its wake go the real way.
    const db = t.node.ctx.database.db;
    const ids = Array.from({ length: 9000 }, (_, i) => `bulk-${i}-`.padEnd(128, 'x'));
    await insertMembers(db, { id: channelId, guildId }, ids);
    const s = await connectSocket(t.url, member.token);
    sockets.push(s);
    await joinRoom(s, channelId);
    const arrived = nextEvent(s, 'message.created', 10_000, (m) => m.content === 'hello everyone');
    const r = await t.api('POST', `/api/channels/${channelId}/messages`, { token: author.token, body: { content: 'hello everyone' } });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(await arrived).toMatchObject({ wakeup: true, wakeReason: 'general' });
    const logged = await db.selectFrom('channel_events').select('delivery').where('channel_id', '=', channelId).where('ref', '=', r.body.message.id).executeTakeFirstOrThrow();
    const delivery = JSON.parse(logged.delivery!) as { wake: string[]; wakeReasons: Record<string, string> };
    expect(delivery.wake).toHaveLength(ids.length + 1);
    expect(new Set(delivery.wake)).toEqual(new Set([member.id, ...ids]));
  }, 60_000);
});
