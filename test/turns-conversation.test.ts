/**
 * A simulated conversation (issue 4): three agents on real sockets follow the client
 * contract of realtime.md — run when woken (message.created or turn.updated with
 * `wakeup: true`), answer with a message, and from their third turn on answer `/no-reply`.
 * A person starts the topic. With a fixed random seed the speaking sequence is exact, and the
 * round-robin stops by itself: the channel ends paused with nobody woken.
 */
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../lib/turns/engine.js';
import { nextEvent, startTestNode, type TestNode } from './helpers/harness.js';
import { NAMES, readable, seedTurnRoom, type Name, type TurnRoom } from './helpers/turn-room.js';

let t: TestNode;
beforeAll(async () => {
  // A node of its own: the seed alone decides the shuffles of this conversation.
  t = await startTestNode({ random: seededRandom(2026) });
});
afterAll(async () => t?.close());

interface Agent {
  /** Every event that woke this agent. */
  wakes: { event: string; reason?: string }[];
  turns: number;
}

/** An agent: on every wake, one turn — a message for its first two, `/no-reply` after that. */
function startAgent(room: TurnRoom, name: Name, spoken: string[], failures: unknown[]): Agent {
  const agent: Agent = { wakes: [], turns: 0 };
  const socket: Socket = room.sockets[name];
  const onWake = (event: string) => (d: any) => {
    if (d.channelId !== room.channelId || d.wakeup !== true) return;
    agent.wakes.push({ event, reason: d.reason });
    agent.turns += 1;
    const pass = agent.turns >= 3;
    spoken.push(`${name}${pass ? ' passes' : ''}`);
    const content = pass ? '/no-reply' : `${name}'s thoughts, turn ${agent.turns}`;
    t.api('POST', `/api/channels/${room.channelId}/messages`, { token: room.users[name].token, body: { content } })
      .then((r) => {
        if (r.status !== (pass ? 200 : 201)) failures.push({ name, status: r.status, body: r.body });
      })
      .catch((err) => failures.push(err));
  };
  socket.on('message.created', onWake('message.created'));
  socket.on('turn.updated', onWake('turn.updated'));
  return agent;
}

describe('a simulated conversation of three agents and a person', () => {
  it('follows the exact speaking sequence for seed 2026 and ends paused with nobody woken', async () => {
    const room = await seedTurnRoom(t);
    const spoken: string[] = [];
    const failures: unknown[] = [];
    const agents = { A: startAgent(room, 'A', spoken, failures), B: startAgent(room, 'B', spoken, failures), C: startAgent(room, 'C', spoken, failures) };
    // The pause, as every member's socket receives it.
    const paused = NAMES.map((n) => nextEvent<any>(room.sockets[n], 'turn.updated', 20000, (d) => d.channelId === room.channelId && d.status === 'paused'));

    const topic = await t.api('POST', `/api/channels/${room.channelId}/messages`, { token: room.users.H.token, body: { content: 'How should we split the migration?' } });
    expect(topic.status).toBe(201);
    const pauseSeen = await Promise.all(paused);

    expect(failures).toEqual([]);
    // Round 1 in the created order; round 2 shuffled to [B, A, C], round 3 to [B, C, A] (C, who ended each round, never opens the next).
    expect(spoken).toEqual(['A', 'B', 'C', 'B', 'A', 'C', 'B passes', 'C passes', 'A passes']);
    expect(pauseSeen.map((e) => ({ reason: e.reason, wakeup: e.wakeup, speakerId: e.speakerId }))).toEqual(
      NAMES.map(() => ({ reason: 'no-reply', wakeup: false, speakerId: null })),
    );

    // Barrier: a later change reaches every socket after anything the pause could have caused.
    const barrier = NAMES.map((n) => nextEvent<any>(room.sockets[n], 'turn.updated', 5000, (d) => d.channelId === room.channelId && d.reason === 'membership'));
    const added = await t.api('POST', `/api/channels/${room.channelId}/members`, { token: room.users.H.token, body: { userIds: [room.outsider.id], bypass: true } });
    expect(added.body).toEqual({ added: [room.outsider.id] });
    expect((await Promise.all(barrier)).map((e) => e.wakeup)).toEqual(NAMES.map(() => false));

    // Nobody was woken after the pause: three wakes per agent, one per turn taken.
    for (const a of Object.values(agents)) expect(a.wakes.length).toBe(3);
    // Wakes by a stored message ride on message.created; after a pass, on turn.updated (reason no-reply).
    const how = (a: Agent) => a.wakes.map((w) => (w.event === 'turn.updated' ? `turn.updated ${w.reason}` : w.event));
    expect(how(agents.A)).toEqual(['message.created', 'message.created', 'turn.updated no-reply']);
    expect(how(agents.B)).toEqual(['message.created', 'message.created', 'message.created']);
    expect(how(agents.C)).toEqual(['message.created', 'message.created', 'turn.updated no-reply']);
    const r = await t.api('GET', `/api/channels/${room.channelId}/turn`, { token: room.guildToken });
    expect(readable(room, r.body.turn)).toMatchObject({ status: 'paused', round: 3, speaker: null, spoken: [], frames: [] });
    expect([...readable(room, r.body.turn).passed].sort()).toEqual(['A', 'B', 'C']);
  });
});
