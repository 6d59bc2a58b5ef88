/**
 * The traces of turns.md end to end: messages and intercepted commands over real HTTP, wake
 * flags as the members' real sockets receive them. Order [A, B, C], bypass [H], discuss
 * unless said. Shuffles draw from a seeded source shared by the whole file, so these tests
 * assert the rule (C never opens round 2), not one permutation; turns-conversation.test.ts
 * pins an exact sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../lib/turns/engine.js';
import { nextEvent, recordEvents, startTestNode, type TestNode } from './helpers/harness.js';
import { NAMES, observe, readable, seedTurnRoom, type Name, type TurnRoom } from './helpers/turn-room.js';

let t: TestNode;
beforeAll(async () => {
  t = await startTestNode({ random: seededRandom(4) });
});
afterAll(async () => t?.close());

const getTurn = async (room: TurnRoom) => {
  const r = await t.api('GET', `/api/channels/${room.channelId}/turn`, { token: room.guildToken });
  expect(r.status).toBe(200);
  return readable(room, r.body.turn);
};

const mention = (room: TurnRoom, who: Name | 'X') => `<@${who === 'X' ? room.outsider.id : room.users[who].id}>`;

/**
 * `who` posts `content`. Returns who was woken by `message.created` and the turn after it.
 * When `turnChanges`, also waits for the `turn.updated` (reason `message`) every member
 * receives and checks that it wakes nobody (that wake rides on message.created).
 */
async function say(room: TurnRoom, who: Name, content: string, turnChanges = true) {
  const turnEvents = turnChanges ? NAMES.map((n) => nextEvent<any>(room.sockets[n], 'turn.updated', 5000, (d) => d.channelId === room.channelId)) : [];
  const { result, woken } = await observe(room, 'message.created', () =>
    t.api('POST', `/api/channels/${room.channelId}/messages`, { token: room.users[who].token, body: { content } }),
  );
  expect(result.status, JSON.stringify(result.body)).toBe(201);
  for (const e of await Promise.all(turnEvents)) expect({ reason: e.reason, wakeup: e.wakeup }).toEqual({ reason: 'message', wakeup: false });
  return { woken, turn: await getTurn(room) };
}

/** `who` sends an intercepted command that changes the turn; returns the response's turn, the event's reason and who was woken. */
async function command(room: TurnRoom, who: Name, content: '/no-reply' | '/force-proceed') {
  const { result, event, woken } = await observe(room, 'turn.updated', () =>
    t.api('POST', `/api/channels/${room.channelId}/messages`, { token: room.users[who].token, body: { content } }),
  );
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  expect(result.body.intercepted).toBe(content.slice(1));
  expect(event.reason).toBe(content.slice(1));
  return { woken, turn: readable(room, result.body.turn) };
}

describe('turns.md traces over HTTP and socket.io', () => {
  it('1. round and shuffle: H starts, A, B, C speak in turn, round 2 is shuffled with C not first', async () => {
    const room = await seedTurnRoom(t);
    expect(await say(room, 'H', 'topic')).toMatchObject({ woken: ['A'], turn: { status: 'active', round: 1, speaker: 'A' } });
    expect(await say(room, 'A', 'a')).toMatchObject({ woken: ['B'], turn: { speaker: 'B', spoken: ['A'] } });
    expect(await say(room, 'B', 'b')).toMatchObject({ woken: ['C'], turn: { speaker: 'C', spoken: ['A', 'B'] } });
    const end = await say(room, 'C', 'c');
    expect(end.turn).toMatchObject({ status: 'active', round: 2, spoken: [] });
    expect([...end.turn.order].sort()).toEqual(['A', 'B', 'C']);
    expect(end.turn.order[0]).not.toBe('C');
    expect(end.turn.speaker).toBe(end.turn.order[0]);
    expect(end.woken).toEqual([end.turn.order[0]]);
  });

  it('2. pause across rounds: every member passes, the channel pauses waking nobody; a new question resumes', async () => {
    const room = await seedTurnRoom(t);
    await say(room, 'H', 'topic');
    await say(room, 'A', 'a');
    expect(await command(room, 'B', '/no-reply')).toMatchObject({ woken: ['C'], turn: { passed: ['B'], speaker: 'C' } });
    const round2 = await command(room, 'C', '/no-reply');
    expect(round2.turn).toMatchObject({ status: 'active', round: 2, spoken: [], passed: ['B', 'C'] });
    expect(round2.turn.order[0]).not.toBe('C');
    expect(round2.woken).toEqual([round2.turn.order[0]]);
    // Round 2: members pass in order until A, the only one who had not passed, does.
    const order = round2.turn.order as Name[];
    const passers = order.slice(0, order.indexOf('A') + 1);
    for (const [i, who] of passers.entries()) {
      const r = await command(room, who, '/no-reply');
      if (who !== 'A') {
        expect(r).toMatchObject({ woken: [order[i + 1]], turn: { status: 'active', speaker: order[i + 1] } });
        continue;
      }
      expect(r.woken).toEqual([]);
      expect(r.turn).toMatchObject({ status: 'paused', round: 2, speaker: null, spoken: [], frames: [] });
      expect([...r.turn.passed].sort()).toEqual(['A', 'B', 'C']);
    }
    const resumed = await say(room, 'H', 'new question');
    expect(resumed.turn).toMatchObject({ status: 'active', round: 3, passed: [], spoken: [], speaker: order[0] });
    expect(resumed.woken).toEqual([order[0]]);
  });

  it('3. queue-jump: C speaks early, A keeps the turn and is woken again', async () => {
    const room = await seedTurnRoom(t);
    await say(room, 'H', 'topic');
    expect(await say(room, 'C', 'early')).toMatchObject({ woken: ['A'], turn: { spoken: ['C'], speaker: 'A' } });
    expect(await say(room, 'A', 'a')).toMatchObject({ woken: ['B'], turn: { spoken: ['C', 'A'], speaker: 'B' } });
    expect((await say(room, 'B', 'b')).turn).toMatchObject({ round: 2, spoken: [] });
  });

  it('a bypass member’s message that changes nothing still wakes the speaker, with no turn.updated', async () => {
    const room = await seedTurnRoom(t);
    await say(room, 'H', 'topic');
    const seen = recordEvents(room.sockets.H, 'turn.updated');
    expect(await say(room, 'H', 'more context', false)).toMatchObject({ woken: ['A'], turn: { speaker: 'A', spoken: [] } });
    await say(room, 'A', 'a'); // its turn.updated is the first one H's socket records
    expect(seen.map((e) => e.speakerId)).toEqual([room.users.B.id]);
  });

  it('4. mention frame: C answers first, then B, then C takes its own root turn', async () => {
    const room = await seedTurnRoom(t);
    await say(room, 'H', 'topic');
    expect(await say(room, 'A', `${mention(room, 'C')} what about X?`)).toMatchObject({
      woken: ['C'],
      turn: { spoken: ['A'], frames: [{ by: 'A', queue: ['C'] }], speaker: 'C' },
    });
    expect(await say(room, 'C', 'X is fine')).toMatchObject({ woken: ['B'], turn: { spoken: ['A'], frames: [], speaker: 'B' } });
    expect(await say(room, 'B', 'b')).toMatchObject({ woken: ['C'], turn: { spoken: ['A', 'B'], speaker: 'C' } });
    expect((await say(room, 'C', 'c')).turn).toMatchObject({ round: 2, spoken: [] });
  });

  it('7. mention from idle: B is woken, answers, and the channel stays idle waking nobody', async () => {
    const room = await seedTurnRoom(t);
    expect(await say(room, 'H', `${mention(room, 'B')} status?`)).toMatchObject({
      woken: ['B'],
      turn: { status: 'idle', round: 0, frames: [{ by: 'H', queue: ['B'] }], speaker: 'B' },
    });
    expect(await say(room, 'B', 'all good')).toMatchObject({ woken: [], turn: { status: 'idle', round: 0, frames: [], speaker: null } });
  });

  it('mentions of users who are not channel members open no frame: the message starts a round', async () => {
    const room = await seedTurnRoom(t);
    expect(await say(room, 'H', `${mention(room, 'X')} are you there?`)).toMatchObject({
      woken: ['A'],
      turn: { status: 'active', round: 1, frames: [], speaker: 'A' },
    });
  });

  it('8. force-proceed: a hanging speaker B is skipped and C is woken by turn.updated', async () => {
    const room = await seedTurnRoom(t);
    await say(room, 'H', 'topic');
    await say(room, 'A', 'a');
    expect(await command(room, 'H', '/force-proceed')).toMatchObject({ woken: ['C'], turn: { spoken: ['A', 'B'], passed: [], speaker: 'C' } });
  });

  it('9. moveToBypass mid-rotation: B leaves the order, C is woken by turn.updated', async () => {
    const room = await seedTurnRoom(t);
    await say(room, 'H', 'topic');
    await say(room, 'A', 'a');
    const { result, event, woken } = await observe(room, 'turn.updated', () =>
      t.api('POST', `/api/channels/${room.channelId}/turn/bypass`, { token: room.users.H.token, body: { userId: room.users.B.id } }),
    );
    expect(result.status).toBe(200);
    expect(event.reason).toBe('order');
    expect(readable(room, result.body.turn)).toMatchObject({ order: ['A', 'C'], bypass: ['H', 'B'], spoken: ['A'], speaker: 'C' });
    expect(woken).toEqual(['C']);
  });

  it('10. work channel: round 2 keeps order [A, B, C]', async () => {
    const room = await seedTurnRoom(t, { xType: 'work' });
    await say(room, 'H', 'topic');
    await say(room, 'A', 'a');
    await say(room, 'B', 'b');
    expect(await say(room, 'C', 'c')).toMatchObject({ woken: ['A'], turn: { round: 2, order: ['A', 'B', 'C'], speaker: 'A' } });
  });

  it('a guild ack restarts a paused channel and wakes the first speaker', async () => {
    const room = await seedTurnRoom(t, { xType: 'work' });
    await say(room, 'H', 'topic');
    for (const who of ['A', 'B'] as const) await command(room, who, '/no-reply');
    expect((await command(room, 'C', '/no-reply')).turn).toMatchObject({ status: 'paused', round: 1 });
    const { result, event, woken } = await observe(room, 'turn.updated', () => t.api('POST', `/api/channels/${room.channelId}/turn/ack`, { token: room.guildToken }));
    expect(event.reason).toBe('ack');
    expect(readable(room, result.body.turn)).toMatchObject({ status: 'active', round: 2, passed: [], speaker: 'A' });
    expect(woken).toEqual(['A']);
  });
});
