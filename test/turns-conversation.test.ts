/**
 * A simulated conversation (issue 4): three agents, client SDK clients (lib/client), follow
 * the client contract of realtime.md — run when woken (`onMessage` or `onTurn` with
 * `wakeup`), answer with a message, and from their third turn on answer `/no-reply`. A person
 * starts the topic. With a fixed random seed the speaking sequence is exact, and the
 * round-robin stops by itself: the channel ends paused with nobody woken.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FabricClient, TurnInfo } from '../lib/client/index.js';
import type { Turn } from '../lib/realtime/events.js';
import { seededRandom } from '../lib/turns/engine.js';
import { startTestNode, type TestNode } from './helpers/harness.js';
import { closeClients, sdkClient } from './helpers/sdk.js';
import { NAMES, readable, seedTurnRoom, type Name, type TurnRoom } from './helpers/turn-room.js';

let t: TestNode;
beforeAll(async () => {
  // A node of its own: the seed alone decides the shuffles of this conversation.
  t = await startTestNode({ random: seededRandom(2026) });
});
afterAll(async () => t?.close());
afterEach(closeClients);

const WAIT = { timeout: 20_000 };

interface Member {
  client: FabricClient;
  /** Every turn.updated of the room this member was delivered, with its info. */
  turns: { turn: Turn; info: TurnInfo }[];
}

/** A member's client (a person's UI, or an agent before it acts), connected and recording the room's turn. */
async function member(room: TurnRoom, name: Name): Promise<Member> {
  const { c } = sdkClient(t.url, room.users[name]);
  const m: Member = { client: c, turns: [] };
  c.onTurn((turn, info) => void (turn.channelId === room.channelId && m.turns.push({ turn, info })));
  await c.connect();
  return m;
}

interface Agent extends Member {
  /** Every event that woke this agent. */
  wakes: { event: string; reason?: string }[];
  taken: number;
}

/** An agent: on every wake, one turn — a message for its first two, `/no-reply` after that. */
async function startAgent(room: TurnRoom, name: Name, spoken: string[], failures: unknown[]): Promise<Agent> {
  const agent: Agent = { ...(await member(room, name)), wakes: [], taken: 0 };
  const c = agent.client;
  const act = (wake: { event: string; reason?: string }) => {
    agent.wakes.push(wake);
    agent.taken += 1;
    const pass = agent.taken >= 3;
    spoken.push(`${name}${pass ? ' passes' : ''}`);
    const reply = pass ? c.noReply(room.channelId) : c.post(room.channelId, `${name}'s thoughts, turn ${agent.taken}`);
    reply
      .then((r) => {
        if (pass ? r.intercepted !== 'no-reply' : r.created !== true) failures.push({ name, result: r });
      })
      .catch((err: unknown) => failures.push(err));
  };
  c.onMessage((m, { wakeup }) => void (m.channelId === room.channelId && wakeup && act({ event: 'message.created' })));
  c.onTurn((turn, { wakeup, reason }) => void (turn.channelId === room.channelId && wakeup && act({ event: 'turn.updated', reason })));
  return agent;
}

describe('a simulated conversation of three agents and a person', () => {
  it('follows the exact speaking sequence for seed 2026 and ends paused with nobody woken', async () => {
    const room = await seedTurnRoom(t);
    const spoken: string[] = [];
    const failures: unknown[] = [];
    const agents = {
      A: await startAgent(room, 'A', spoken, failures),
      B: await startAgent(room, 'B', spoken, failures),
      C: await startAgent(room, 'C', spoken, failures),
    };
    const everyone = [await member(room, 'H'), agents.A, agents.B, agents.C];
    const first = (m: Member, match: (e: { turn: Turn; info: TurnInfo }) => boolean) => m.turns.find(match);

    const topic = await t.api('POST', `/api/channels/${room.channelId}/messages`, { token: room.users.H.token, body: { content: 'How should we split the migration?' } });
    expect(topic.status).toBe(201);
    // The pause, as every member's client delivers it.
    const isPause = (e: { turn: Turn }) => e.turn.status === 'paused';
    await expect.poll(() => everyone.every((m) => first(m, isPause)), WAIT).toBe(true);

    expect(failures).toEqual([]);
    // Round 1 in the created order; round 2 shuffled to [B, A, C], round 3 to [B, C, A] (C, who ended each round, never opens the next).
    expect(spoken).toEqual(['A', 'B', 'C', 'B', 'A', 'C', 'B passes', 'C passes', 'A passes']);
    expect(everyone.map((m) => first(m, isPause)!).map(({ turn, info }) => ({ reason: info.reason, wakeup: info.wakeup, speakerId: turn.speakerId }))).toEqual(
      NAMES.map(() => ({ reason: 'no-reply', wakeup: false, speakerId: null })),
    );

    // Barrier: a later change reaches every client after anything the pause could have caused.
    const added = await t.api('POST', `/api/channels/${room.channelId}/members`, { token: room.users.H.token, body: { userIds: [room.outsider.id], bypass: true } });
    expect(added.body).toEqual({ added: [room.outsider.id] });
    const isMembership = (e: { info: TurnInfo }) => e.info.reason === 'membership';
    await expect.poll(() => everyone.every((m) => first(m, isMembership)), WAIT).toBe(true);
    expect(everyone.map((m) => first(m, isMembership)!.info.wakeup)).toEqual(NAMES.map(() => false));

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
