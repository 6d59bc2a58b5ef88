/**
 * Concurrent posts into one discuss channel are applied to the turn engine one at a time,
 * in seq order (turns.md: same transaction as the insert, under the channel row lock): the
 * persisted turn, and the wake of every message.created, equal a replay of the stored
 * messages in seq order through the pure engine with the same random source.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyTurnEvent, deriveSpeaker, initialTurnState, seededRandom, type TurnState } from '../lib/turns/engine.js';
import { startTestNode, type TestNode } from './helpers/harness.js';
import { NAMES, seedTurnRoom } from './helpers/turn-room.js';

const SEED = 11;
let t: TestNode;
beforeAll(async () => {
  // A node of its own: its random source is drawn from by this channel only, so a replay with the same seed matches.
  t = await startTestNode({ random: seededRandom(SEED) });
});
afterAll(async () => t?.close());

/** Resolves with the first `n` events of this channel on `socket`. */
function collect(socket: Socket, event: string, channelId: string, n: number): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const seen: any[] = [];
    const timer = setTimeout(() => reject(new Error(`only ${seen.length} of ${n} ${event} events arrived`)), 20000);
    socket.on(event, (d: any) => {
      if (d.channelId !== channelId) return;
      seen.push(d);
      if (seen.length === n) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

describe('30 concurrent posts into one discuss channel', () => {
  it('leave the turn state a replay of the messages in seq order would produce, with the same wakes', async () => {
    const room = await seedTurnRoom(t);
    const POSTS = 30;
    const received = NAMES.map((n) => collect(room.sockets[n], 'message.created', room.channelId, POSTS));
    // Authors cycle through everyone; every fifth message mentions someone (X is not a channel member).
    const authors = Array.from({ length: POSTS }, (_, i) => NAMES[(i * 3) % 4]);
    const targets = ['B', 'X', 'C', 'A', 'H', 'B'] as const;
    const contents = authors.map((_, i) => {
      if (i % 5 !== 0) return `message ${i}`;
      const who = targets[(i / 5) % targets.length];
      return `<@${who === 'X' ? room.outsider.id : room.users[who].id}> message ${i}`;
    });
    const results = await Promise.all(
      authors.map((who, i) => t.api('POST', `/api/channels/${room.channelId}/messages`, { token: room.users[who].token, body: { content: contents[i] } })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(POSTS).fill(201));

    const list = await t.api('GET', `/api/channels/${room.channelId}/messages?after=0&limit=100`, { token: room.guildToken });
    expect(list.status).toBe(200);
    const messages: { seq: number; authorId: string; mentions: string[] }[] = list.body.messages;
    expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: POSTS }, (_, i) => i + 1));

    // Replay: rule 1 for each stored message in seq order, mentions restricted to channel members.
    const members = new Set(NAMES.map((n) => room.users[n].id));
    const random = seededRandom(SEED);
    let state: TurnState = initialTurnState([room.users.A.id, room.users.B.id, room.users.C.id], [room.users.H.id]);
    const expectedWake = new Map<number, string[]>();
    let rounds = 0;
    let frames = 0;
    for (const m of messages) {
      const r = applyTurnEvent(state, { type: 'message', actorId: m.authorId, mentions: m.mentions.filter((u) => members.has(u)) }, 'discuss', random);
      rounds += r.state.round > state.round && state.status === 'active' ? 1 : 0;
      frames += r.state.frames.length > state.frames.length ? 1 : 0;
      state = r.state;
      expectedWake.set(m.seq, r.wake);
    }
    // The scenario exercises round ends and mention frames, not just a flat rotation.
    expect(rounds).toBeGreaterThan(0);
    expect(frames).toBeGreaterThan(0);

    const turn = (await t.api('GET', `/api/channels/${room.channelId}/turn`, { token: room.guildToken })).body.turn;
    const { status, round, order, bypass, spoken, passed, frames: stack } = turn;
    expect({ status, round, order, bypass, spoken, passed, frames: stack, speakerId: turn.speakerId }).toEqual({ ...state, speakerId: deriveSpeaker(state) });

    // Every socket saw every message (delivery order is not part of the contract) with the wake the replay predicts.
    const seenBy = await Promise.all(received);
    for (const [i, n] of NAMES.entries()) {
      const seen = [...seenBy[i]].sort((a, b) => a.seq - b.seq);
      expect(seen.map((m) => m.seq)).toEqual(messages.map((m) => m.seq));
      for (const m of seen) expect({ seq: m.seq, wakeup: m.wakeup }).toEqual({ seq: m.seq, wakeup: expectedWake.get(m.seq)!.includes(room.users[n].id) });
    }
  });
});
