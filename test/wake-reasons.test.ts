/**
 * The pure rules of agent rooms, table-driven: why the turn engine wakes (agent-rooms.md
 * "Wake reasons", "Replies that wake"), the timeout event, the speaker's clock and the loop
 * guard's counting.
 */
import { describe, expect, it } from 'vitest';
import { nextLoopGuard } from '../lib/channels/loop-guard.js';
import { computeWakes } from '../lib/messages/wake.js';
import { applyTurnEvent, initialTurnState, seededRandom, type TurnEvent, type TurnState } from '../lib/turns/engine.js';
import { nextSpeakerClock, NO_CLOCK, withTimeout } from '../lib/turns/speaker-clock.js';

/** Order [A, B, C], bypass [H], run through `events` first. */
function stateAfter(events: TurnEvent[]): TurnState {
  let s = initialTurnState(['A', 'B', 'C'], ['H']);
  for (const e of events) s = applyTurnEvent(s, e, 'work', seededRandom(1)).state;
  return s;
}
const msg = (actorId: string, mentions: string[] = [], replyToAuthorId: string | null = null): TurnEvent => ({ type: 'message', actorId, mentions, replyToAuthorId });
const topic = msg('H');

describe('the turn engine says why it wakes', () => {
  it.each<[string, TurnEvent[], TurnEvent, string[], string | null]>([
    ['the root speaker after a topic', [], topic, ['A'], 'speaker'],
    ['the next root speaker after an answer', [topic], msg('A'), ['B'], 'speaker'],
    ['the root speaker again after a queue-jump', [topic], msg('C'), ['A'], 'speaker'],
    ['the head of a frame this message opened', [topic], msg('A', ['C']), ['C'], 'mention'],
    ['a mention from idle', [], msg('H', ['B']), ['B'], 'mention'],
    ['the next head of a frame whose head answered', [topic, msg('A', ['B', 'C'])], msg('B'), ['C'], 'frame'],
    ['the head of a lower frame after the top one closed', [topic, msg('A', ['B', 'C']), msg('B', ['A'])], msg('A'), ['C'], 'frame'],
    ['a reply opens a frame for its target', [topic, msg('A')], msg('H', [], 'A'), ['A'], 'reply'],
    ['a reply that also mentions its target', [topic, msg('A')], msg('H', ['A'], 'A'), ['A'], 'mention'],
    ['a mention before the reply target heads the frame', [topic, msg('A')], msg('H', ['C'], 'A'), ['C'], 'mention'],
    ['a reply to oneself is a plain message', [topic], msg('A', [], 'A'), ['B'], 'speaker'],
    ['/no-reply hands the root turn on', [topic], { type: 'no-reply', actorId: 'A' }, ['B'], 'speaker'],
    ['/no-reply of a frame head hands the frame on', [topic, msg('A', ['B', 'C'])], { type: 'no-reply', actorId: 'B' }, ['C'], 'frame'],
    ['/force-proceed skips the root speaker', [topic], { type: 'force-proceed', actorId: 'H' }, ['B'], 'speaker'],
    ['a timeout skips the speaker', [topic], { type: 'timeout', speakerId: 'A' }, ['B'], 'timeout'],
    ['a timeout of a frame head', [topic, msg('A', ['B', 'C'])], { type: 'timeout', speakerId: 'B' }, ['C'], 'timeout'],
    ['a stale timeout (the speaker answered) does nothing', [topic, msg('A')], { type: 'timeout', speakerId: 'A' }, [], null],
    ['a guild ack starts a round', [], { type: 'ack' }, ['A'], 'speaker'],
  ])('%s', (_, before, event, wake, wakeReason) => {
    const r = applyTurnEvent(stateAfter(before), event, 'work', seededRandom(1));
    expect({ wake: r.wake, wakeReason: r.wakeReason }).toEqual({ wake, wakeReason });
  });
});

describe('computeWakes: the reason of each channel type', () => {
  const base = { authorId: 'x', memberIds: ['x', 'a'], wakeMappingIds: ['a'], speakerId: 'a' };
  it.each([
    ['general', null, { a: 'general' }],
    ['triage', null, { a: 'on_duty' }],
    ['custom', null, { a: 'listener' }],
    ['report', null, {}],
    ['discuss', 'frame', { a: 'frame' }],
    ['work', 'speaker', { a: 'speaker' }],
  ] as const)('%s', (xType, speakerReason, wakes) => {
    expect(computeWakes({ ...base, xType }, speakerReason)).toEqual(wakes);
  });
  // Center's ids are opaque (1–128 characters): any of them is a key like any other.
  it('wakes a member whose id is a name of Object.prototype', () => {
    const ids = ['__proto__', 'constructor', 'toString'];
    const wakes = computeWakes({ ...base, xType: 'general', memberIds: ['x', ...ids] }, null);
    expect(Object.keys(wakes)).toEqual(ids);
    expect(ids.map((id) => Object.getOwnPropertyDescriptor(wakes, id)?.value)).toEqual(['general', 'general', 'general']);
  });
});

describe("the speaker's clock", () => {
  const ev = (e: TurnEvent) => e;
  it.each<[string, TurnEvent, string | null, string | null, boolean, number | null]>([
    ['a new speaker starts it', ev(msg('A')), 'A', 'B', true, 100],
    ['no speaker clears it', ev(msg('B')), 'B', null, true, null],
    ['a queue-jump keeps it', ev(msg('C')), 'A', 'A', true, 0],
    ['the speaker answering and speaking again restarts it', ev(msg('A')), 'A', 'A', true, 100],
    ['a timeout that leaves the same speaker restarts it', { type: 'timeout', speakerId: 'A' }, 'A', 'A', true, 100],
    ['a join keeps it', { type: 'join', userId: 'D', bypass: false }, 'A', 'A', true, 0],
  ])('%s', (_, event, before, after, changed, since) => {
    const next = nextSpeakerClock(withTimeout(0, 5), event, before, after, changed, 5, 100);
    expect(next).toEqual(since === null ? NO_CLOCK : withTimeout(since, 5));
  });
  it('has no deadline without a timeout', () => {
    expect(withTimeout(10, null)).toEqual({ speakerSince: 10, deadline: null });
  });
});

describe('the loop guard counts', () => {
  const fresh = { tripped: false, agentStreak: 0 };
  it.each([
    ['an agent message counts', fresh, 3, 'agent', { tripped: false, agentStreak: 1 }, false],
    ['reaching the limit trips it', { tripped: false, agentStreak: 2 }, 3, 'agent', { tripped: true, agentStreak: 3 }, true],
    ['past the limit it stays tripped, no new event', { tripped: true, agentStreak: 3 }, 3, 'agent', { tripped: true, agentStreak: 4 }, false],
    ["a person's message resets it", { tripped: true, agentStreak: 9 }, 3, 'person', fresh, true],
    ["a person's message clears a streak quietly", { tripped: false, agentStreak: 2 }, 3, 'person', fresh, false],
    ['without a limit nothing counts', fresh, null, 'agent', fresh, false],
  ] as const)('%s', (_, guard, limit, kind, next, event) => {
    expect(nextLoopGuard(guard, limit, kind)).toEqual({ guard: next, event });
  });
});
