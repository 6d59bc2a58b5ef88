/**
 * Agent rooms (agent-rooms.md): member kind and PATCH member, the channel settings
 * (repliesWake, turnTimeoutSeconds, agentLoopLimit), the agent loop guard, replies that wake
 * and the wake reason of every turn-engine wake rule — over real HTTP and real sockets.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../lib/turns/engine.js';
import { createChannel, emitAck, nextEvent, recordEvents, seedGuild, startTestNode, type TestNode, type TestUser } from './helpers/harness.js';
import { expectBadRequest, expectError } from './helpers/expect-error.js';
import { insertMembers, post, postMessage } from './helpers/messages.js';
import { seedTurnRoom, type Name, type TurnRoom } from './helpers/turn-room.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ random: seededRandom(7) });
});
afterAll(async () => t?.close());

const membersPath = (guildId: string, userId = '') => `/api/guilds/${guildId}/members${userId ? `/${userId}` : ''}`;

async function setKind(guildId: string, owner: TestUser, users: TestUser[], kind: 'agent' | 'person') {
  for (const u of users) expect((await t.api('PATCH', membersPath(guildId, u.id), { token: owner.token, body: { kind } })).status).toBe(200);
}

/** The next `event` of the channel on each named socket: who was woken and why (null = not woken). */
async function wakesOf(sockets: Record<string, Socket>, channelId: string, event: string, action: () => Promise<unknown>, filter: (d: any) => boolean = () => true) {
  const names = Object.keys(sockets);
  const pending = names.map((n) => nextEvent<any>(sockets[n], event, 5000, (d) => (d.channelId === channelId || d.channel?.id === channelId) && filter(d)));
  await action();
  const seen = await Promise.all(pending);
  const out: Record<string, string | null> = {};
  names.forEach((n, i) => {
    expect(seen[i].wakeup).toBe(seen[i].wakeReason !== null);
    out[n] = seen[i].wakeReason;
  });
  return out;
}

describe('guild members are people or agents', () => {
  it('POST members takes kind (default person); the list shows it', async () => {
    const { owner, guildId } = await seedGuild(t, 0);
    const agent = await t.centerApi.user('agent');
    const person = await t.centerApi.user('person');
    expect((await t.api('POST', membersPath(guildId), { token: owner.token, body: { userIds: [agent.id], kind: 'agent' } })).status).toBe(200);
    expect((await t.api('POST', membersPath(guildId), { token: owner.token, body: { userIds: [person.id] } })).status).toBe(200);
    const list = await t.api('GET', membersPath(guildId), { token: owner.token });
    const kinds = Object.fromEntries(list.body.members.map((m: any) => [m.userId, m.kind]));
    expect(kinds).toEqual({ [owner.id]: 'person', [agent.id]: 'agent', [person.id]: 'person' });
    expectBadRequest(await t.api('POST', membersPath(guildId), { token: owner.token, body: { userIds: [person.id], kind: 'robot' } }), 'kind');
  });

  it('PATCH member changes role and kind; the owner keeps its role (409) but may change kind; 404 for a non-member; 403 for a plain member', async () => {
    const { owner, members, guildId } = await seedGuild(t, 2);
    const [m1, m2] = members;
    const guildToken = await t.centerApi.guildToken(guildId);
    const r = await t.api('PATCH', membersPath(guildId, m1.id), { token: owner.token, body: { role: 'admin', kind: 'agent' } });
    expect(r.status).toBe(200);
    expect(r.body.member).toMatchObject({ userId: m1.id, role: 'admin', kind: 'agent' });
    expect((await t.api('PATCH', membersPath(guildId, m1.id), { token: guildToken, body: { role: 'member' } })).body.member).toMatchObject({ role: 'member', kind: 'agent' });
    expectError(await t.api('PATCH', membersPath(guildId, owner.id), { token: owner.token, body: { role: 'admin' } }), 409, 'conflict');
    const ownerKind = await t.api('PATCH', membersPath(guildId, owner.id), { token: owner.token, body: { kind: 'agent' } });
    expect(ownerKind.body.member).toMatchObject({ role: 'owner', kind: 'agent' });
    expectError(await t.api('PATCH', membersPath(guildId, 'u_nobody'), { token: owner.token, body: { kind: 'agent' } }), 404, 'not_found');
    // 404 comes before 400 (api.md): an unknown member with a bad body too.
    expectError(await t.api('PATCH', membersPath(guildId, 'u_nobody'), { token: owner.token, body: { role: 'owner' } }), 404, 'not_found');
    expectError(await t.api('PATCH', membersPath(guildId, m1.id), { token: m2.token, body: { kind: 'person' } }), 403, 'forbidden');
    expectBadRequest(await t.api('PATCH', membersPath(guildId, m1.id), { token: owner.token, body: { role: 'owner' } }), 'role');
  });
});

describe('channel settings of agent rooms', () => {
  it('defaults leave every setting off; create and PATCH set them within bounds', async () => {
    const { owner, guildId } = await seedGuild(t, 1);
    const plain = await createChannel(t, owner.token, { guildId, name: 'plain', xType: 'discuss' });
    expect(plain).toMatchObject({ repliesWake: false, turnTimeoutSeconds: null, agentLoopLimit: null, loopGuard: { tripped: false, agentStreak: 0 } });
    const set = await createChannel(t, owner.token, { guildId, name: 'set', xType: 'work', repliesWake: true, agentLoopLimit: 5, turn: { timeoutSeconds: 30 } });
    expect(set).toMatchObject({ repliesWake: true, turnTimeoutSeconds: 30, agentLoopLimit: 5 });
    const p = await t.api('PATCH', `/api/channels/${plain.id}`, { token: owner.token, body: { repliesWake: true, turnTimeoutSeconds: 86400, agentLoopLimit: 1000 } });
    expect(p.body.channel).toMatchObject({ repliesWake: true, turnTimeoutSeconds: 86400, agentLoopLimit: 1000 });
    for (const body of [{ turnTimeoutSeconds: 0 }, { turnTimeoutSeconds: 86401 }, { agentLoopLimit: 0 }, { agentLoopLimit: 1001 }, { turnTimeoutSeconds: 1.5 }]) {
      expectBadRequest(await t.api('PATCH', `/api/channels/${plain.id}`, { token: owner.token, body }), Object.keys(body)[0]);
    }
    const off = await t.api('PATCH', `/api/channels/${plain.id}`, { token: owner.token, body: { turnTimeoutSeconds: null, agentLoopLimit: null } });
    expect(off.body.channel).toMatchObject({ turnTimeoutSeconds: null, agentLoopLimit: null });
  });

  it('repliesWake and the timeout are for discuss/work only (400 wrong_channel_type); the loop limit is for any type', async () => {
    const { owner, guildId } = await seedGuild(t, 1);
    const general = await createChannel(t, owner.token, { guildId, name: 'g', xType: 'general', agentLoopLimit: 3 });
    expect(general.agentLoopLimit).toBe(3);
    expectError(await t.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'x', xType: 'general', repliesWake: true } }), 400, 'wrong_channel_type');
    expectError(
      await t.api('POST', '/api/channels', { token: owner.token, body: { guildId, name: 'x', xType: 'triage', turn: { timeoutSeconds: 5 } } }),
      400,
      'wrong_channel_type',
    );
    expectError(await t.api('PATCH', `/api/channels/${general.id}`, { token: owner.token, body: { repliesWake: true } }), 400, 'wrong_channel_type');
    expectError(await t.api('PATCH', `/api/channels/${general.id}`, { token: owner.token, body: { turnTimeoutSeconds: 10 } }), 400, 'wrong_channel_type');
    const ok = await t.api('PATCH', `/api/channels/${general.id}`, { token: owner.token, body: { repliesWake: false, agentLoopLimit: 7 } });
    expect(ok.body.channel).toMatchObject({ repliesWake: false, agentLoopLimit: 7 });
  });
});

describe('agent loop guard', () => {
  async function generalRoom(limit: number) {
    const { owner, members, guildId } = await seedGuild(t, 3);
    const [person, a1, a2] = members;
    await setKind(guildId, owner, [a1, a2], 'agent');
    const ch = await createChannel(t, person.token, { guildId, name: 'loop', xType: 'general', memberUserIds: [a1.id, a2.id], agentLoopLimit: limit });
    const sockets: Record<string, Socket> = {};
    for (const [n, u] of [
      ['person', person],
      ['a1', a1],
      ['a2', a2],
    ] as const) {
      sockets[n] = await t.socket(u.token);
      expect(await emitAck(sockets[n], 'join_channel', { channelId: ch.id })).toEqual({ ok: true, pos: expect.any(Number) });
    }
    return { owner, person, a1, a2, channelId: ch.id, sockets, guildId };
  }
  const created = (content: string) => (m: any) => m.content === content;

  it('trips when agents post the limit in a row: channel.loop_guard, agents no longer woken, messages still stored', async () => {
    const r = await generalRoom(3);
    const guardEvents = recordEvents(r.sockets.person, 'channel.loop_guard');
    expect(await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.a1.token, r.channelId, 'one'), created('one'))).toEqual({
      person: 'general',
      a1: null,
      a2: 'general',
    });
    await post(t, r.a2.token, r.channelId, 'two');
    expect(guardEvents).toEqual([]);
    const tripping = nextEvent(r.sockets.a2, 'channel.loop_guard');
    // The message that reaches the limit already wakes no agent; the person is still woken.
    expect(await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.a1.token, r.channelId, 'three'), created('three'))).toEqual({
      person: 'general',
      a1: null,
      a2: null,
    });
    expect(await tripping).toMatchObject({ channelId: r.channelId, tripped: true, agentStreak: 3 });
    expect(await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.a2.token, r.channelId, 'four'), created('four'))).toEqual({
      person: 'general',
      a1: null,
      a2: null,
    });
    const ch = await t.api('GET', `/api/channels/${r.channelId}`, { token: r.person.token });
    expect(ch.body.channel.loopGuard).toEqual({ tripped: true, agentStreak: 4 });
    expect(ch.body.channel.lastSeq).toBe(4);
  });

  it("a person's message resets it before its own wakes are computed", async () => {
    const r = await generalRoom(2);
    await post(t, r.a1.token, r.channelId, 'x1');
    // A response does not wait for its events: the trip of x2 is awaited before the reset is.
    const tripped = nextEvent(r.sockets.a1, 'channel.loop_guard');
    await post(t, r.a2.token, r.channelId, 'x2');
    expect(await tripped).toMatchObject({ channelId: r.channelId, tripped: true, agentStreak: 2 });
    const reset = nextEvent(r.sockets.a1, 'channel.loop_guard');
    expect(await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.person.token, r.channelId, 'stop'), created('stop'))).toEqual({
      person: null,
      a1: 'general',
      a2: 'general',
    });
    expect(await reset).toMatchObject({ channelId: r.channelId, tripped: false, agentStreak: 0 });
    expect(await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.a1.token, r.channelId, 'again'), created('again'))).toEqual({
      person: 'general',
      a1: null,
      a2: 'general',
    });
  });

  it('POST loop-guard/reset clears it (creator, guild owner/admin, guild token; 403 for a plain member, 404 for outsiders)', async () => {
    const r = await generalRoom(1);
    await post(t, r.a1.token, r.channelId, 'loop');
    const path = `/api/channels/${r.channelId}/loop-guard/reset`;
    expectError(await t.api('POST', path, { token: r.a2.token }), 403, 'forbidden');
    const stranger = await t.centerApi.user('stranger');
    expectError(await t.api('POST', path, { token: stranger.token }), 404, 'not_found');
    const reset = nextEvent(r.sockets.person, 'channel.loop_guard');
    const res = await t.api('POST', path, { token: r.person.token });
    expect(res.status).toBe(200);
    expect(res.body.channel.loopGuard).toEqual({ tripped: false, agentStreak: 0 });
    expect(await reset).toMatchObject({ tripped: false, agentStreak: 0 });
    expect(await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.person.token, r.channelId, 'hi'), created('hi'))).toEqual({
      person: null,
      a1: 'general',
      a2: 'general',
    });
    const guildToken = await t.centerApi.guildToken(r.guildId);
    expect((await t.api('POST', path, { token: guildToken })).status).toBe(200);
    expect((await t.api('POST', path, { token: r.owner.token })).status).toBe(200);
  });

  it('a tripped guard in a general channel of more members than SQLite binds in one statement still stores and wakes its people only', async () => {
    const r = await generalRoom(1);
    // 34,000 more members, half of them agents, as rows (see insertMembers): the wake set of an
    // agent's post then holds more ids than one statement may bind on SQLite (32,766).
    const db = t.node.ctx.database.db;
    const people = Array.from({ length: 17_000 }, (_, i) => `bulk-person-${i}`);
    const agents = Array.from({ length: 17_000 }, (_, i) => `bulk-agent-${i}`);
    const channel = { id: r.channelId, guildId: r.guildId };
    await insertMembers(db, channel, people, 'person');
    await insertMembers(db, channel, agents, 'agent');
    const tripping = nextEvent(r.sockets.person, 'channel.loop_guard');
    const wakes = await wakesOf(r.sockets, r.channelId, 'message.created', () => post(t, r.a1.token, r.channelId, 'big'), created('big'));
    expect(wakes).toEqual({ person: 'general', a1: null, a2: null });
    expect(await tripping).toMatchObject({ tripped: true, agentStreak: 1 });
    const logged = await db.selectFrom('channel_events').select('delivery').where('channel_id', '=', r.channelId).where('event', '=', 'message.created').executeTakeFirstOrThrow();
    const woken = new Set((JSON.parse(logged.delivery!) as { wake: string[] }).wake);
    expect(woken).toEqual(new Set([r.person.id, ...people]));
  }, 60_000);

  it('in a discuss channel a tripped guard stops waking agent speakers on message.created and turn.updated', async () => {
    const room = await seedTurnRoom(t);
    await setKind(room.guildId, room.owner, [room.users.A, room.users.B, room.users.C], 'agent');
    expect((await t.api('PATCH', `/api/channels/${room.channelId}`, { token: room.users.H.token, body: { agentLoopLimit: 2 } })).status).toBe(200);
    const msg = (c: string) => (m: any) => m.content === c;
    expect(await wakesOf(room.sockets, room.channelId, 'message.created', () => post(t, room.users.H.token, room.channelId, 'topic'), msg('topic'))).toMatchObject({
      A: 'speaker',
    });
    expect(await wakesOf(room.sockets, room.channelId, 'message.created', () => post(t, room.users.A.token, room.channelId, 'a'), msg('a'))).toMatchObject({ B: 'speaker' });
    // B's message reaches the limit: C is the speaker but not woken.
    expect(await wakesOf(room.sockets, room.channelId, 'message.created', () => post(t, room.users.B.token, room.channelId, 'b'), msg('b'))).toEqual({
      H: null,
      A: null,
      B: null,
      C: null,
    });
    const turn = await t.api('GET', `/api/channels/${room.channelId}/turn`, { token: room.users.H.token });
    expect(room.nameOf(turn.body.turn.speakerId)).toBe('C');
    expect(await wakesOf(room.sockets, room.channelId, 'turn.updated', () => postMessage(t, room.users.H.token, room.channelId, { content: '/force-proceed' }))).toEqual({
      H: null,
      A: null,
      B: null,
      C: null,
    });
  });
});

describe('wakeReason of the turn engine rules (discuss)', () => {
  const msg = (c: string) => (m: any) => m.content === c;
  async function say(room: TurnRoom, who: Name, content: string, extra: Record<string, unknown> = {}) {
    let id = '';
    const wakes = await wakesOf(
      room.sockets,
      room.channelId,
      'message.created',
      async () => {
        id = (await post(t, room.users[who].token, room.channelId, content, extra)).id;
      },
      msg(content),
    );
    return { id, woken: Object.fromEntries(Object.entries(wakes).filter(([, r]) => r !== null)) };
  }
  const mention = (room: TurnRoom, n: Name) => `<@${room.users[n].id}>`;

  it('speaker, mention, frame; turn.updated after /no-reply, /force-proceed and ack', async () => {
    const room = await seedTurnRoom(t);
    expect((await say(room, 'H', 'topic')).woken).toEqual({ A: 'speaker' });
    expect((await say(room, 'A', `${mention(room, 'B')} ${mention(room, 'C')} both?`)).woken).toEqual({ B: 'mention' });
    expect((await say(room, 'B', 'b answers')).woken).toEqual({ C: 'frame' });
    // A queue-jump by H leaves C the head of the frame: woken again, still for the frame.
    expect((await say(room, 'H', 'meanwhile')).woken).toEqual({ C: 'frame' });
    expect(await wakesOf(room.sockets, room.channelId, 'turn.updated', () => postMessage(t, room.users.C.token, room.channelId, { content: '/no-reply' }))).toMatchObject({
      B: 'speaker',
    });
    expect(await wakesOf(room.sockets, room.channelId, 'turn.updated', () => postMessage(t, room.users.H.token, room.channelId, { content: '/force-proceed' }))).toMatchObject({
      C: 'speaker',
    });
    const fresh = await seedTurnRoom(t);
    expect(await wakesOf(fresh.sockets, fresh.channelId, 'turn.updated', () => t.api('POST', `/api/channels/${fresh.channelId}/turn/ack`, { token: fresh.owner.token }))).toEqual({
      H: null,
      A: 'speaker',
      B: null,
      C: null,
    });
  });

  it('a mention from idle wakes with mention; a message by the speaker wakes the next with speaker', async () => {
    const room = await seedTurnRoom(t, { xType: 'work' });
    expect((await say(room, 'H', `${mention(room, 'B')} status?`)).woken).toEqual({ B: 'mention' });
    expect((await say(room, 'B', 'fine')).woken).toEqual({});
    expect((await say(room, 'H', 'go')).woken).toEqual({ A: 'speaker' });
    expect((await say(room, 'A', 'done')).woken).toEqual({ B: 'speaker' });
  });
});

describe('replies that wake (repliesWake)', () => {
  async function replyRoom(repliesWake: boolean) {
    const room = await seedTurnRoom(t);
    if (repliesWake) expect((await t.api('PATCH', `/api/channels/${room.channelId}`, { token: room.users.H.token, body: { repliesWake } })).status).toBe(200);
    const wakes = async (who: Name, content: string, extra: Record<string, unknown> = {}) => {
      let id = '';
      const w = await wakesOf(
        room.sockets,
        room.channelId,
        'message.created',
        async () => {
          const m = await post(t, room.users[who].token, room.channelId, content, extra);
          id = m.id;
        },
        (m) => m.content === content,
      );
      return { id, woken: Object.fromEntries(Object.entries(w).filter(([, r]) => r !== null)) };
    };
    return { room, wakes };
  }

  it('off (the default): a reply is a plain message', async () => {
    const { wakes } = await replyRoom(false);
    await wakes('H', 'topic');
    const a = await wakes('A', 'a says');
    expect((await wakes('H', 'reply to A', { replyToId: a.id })).woken).toEqual({ B: 'speaker' });
  });

  it("on: a reply opens a frame for the target's author, woken with reply (mention when also mentioned); stored mentions unchanged", async () => {
    const { room, wakes } = await replyRoom(true);
    await wakes('H', 'topic');
    const a = await wakes('A', 'a says');
    const reply = await wakes('H', 'reply to A', { replyToId: a.id });
    expect(reply.woken).toEqual({ A: 'reply' });
    const stored = await t.api('GET', `/api/messages/${reply.id}`, { token: room.users.H.token });
    expect(stored.body.message.mentions).toEqual([]);
    expect((await wakes('A', 'answering H')).woken).toEqual({ B: 'speaker' });
    const b = await wakes('B', 'b says');
    expect((await wakes('H', `<@${room.users.B.id}> and reply`, { replyToId: b.id })).woken).toEqual({ B: 'mention' });
    // A reply to one's own message wakes nobody new.
    const own = await wakes('B', 'my answer');
    expect((await wakes('B', 'self reply', { replyToId: own.id })).woken).not.toHaveProperty('B');
  });
});
