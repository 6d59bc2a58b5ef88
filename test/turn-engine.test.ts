import { describe, expect, it } from 'vitest';
import {
  applyTurnEvent,
  deriveSpeaker,
  initialTurnState,
  seededRandom,
  type RandomSource,
  type TurnChannelType,
  type TurnEvent,
  type TurnResult,
  type TurnState,
} from '../lib/turns/engine.js';

/** A random source that returns the given values in turn and fails the test when it runs out. */
function scripted(...values: number[]): RandomSource {
  let i = 0;
  return () => {
    if (i >= values.length) throw new Error('scripted random source exhausted');
    return values[i++];
  };
}

const noRandom: RandomSource = () => {
  throw new Error('this step must not draw a random number');
};

/** A channel driven through the engine, as the message and turn handlers would. */
function room(type: TurnChannelType, order = ['A', 'B', 'C'], bypass = ['H'], random: RandomSource = seededRandom(1)) {
  let state = initialTurnState(order, bypass);
  const step = (event: TurnEvent): TurnResult => {
    const result = applyTurnEvent(state, event, type, random);
    state = result.state;
    return result;
  };
  return {
    get state() {
      return state;
    },
    post: (actorId: string, ...mentions: string[]) => step({ type: 'message', actorId, mentions }),
    noReply: (actorId: string) => step({ type: 'no-reply', actorId }),
    forceProceed: (actorId: string) => step({ type: 'force-proceed', actorId }),
    ack: () => step({ type: 'ack' }),
    moveToBypass: (userId: string) => step({ type: 'move-to-bypass', userId }),
  };
}

describe('turns.md traces (order [A, B, C], bypass [H])', () => {
  it('1. round and shuffle: C, who ended round 1, does not open round 2', () => {
    const ch = room('discuss');
    expect(ch.post('H')).toMatchObject({ state: { status: 'active', round: 1 }, speakerId: 'A', wake: ['A'] });
    expect(ch.post('A')).toMatchObject({ speakerId: 'B', wake: ['B'] });
    expect(ch.post('B')).toMatchObject({ speakerId: 'C', wake: ['C'] });
    const r = ch.post('C');
    expect(r.state).toMatchObject({ status: 'active', round: 2, spoken: [] });
    expect([...r.state.order].sort()).toEqual(['A', 'B', 'C']);
    expect(r.state.order[0]).not.toBe('C');
    expect(r).toMatchObject({ speakerId: r.state.order[0], wake: [r.state.order[0]] });
  });

  it('1. the swap rule: when the shuffle puts C first, C is swapped with a random other position', () => {
    // Fisher–Yates with 0 then 0.99 gives [C, B, A]; the swap draw 0 picks position 1.
    const ch = room('discuss', ['A', 'B', 'C'], ['H'], scripted(0, 0.99, 0));
    ['H', 'A', 'B', 'C'].forEach((u) => ch.post(u));
    expect(ch.state.order).toEqual(['B', 'C', 'A']);
  });

  it('1. over many seeds the member who ended the round never opens the next one', () => {
    for (let seed = 0; seed < 300; seed++) {
      const ch = room('discuss', ['A', 'B', 'C'], ['H'], seededRandom(seed));
      ['H', 'A', 'B', 'C'].forEach((u) => ch.post(u));
      expect(ch.state.order[0]).not.toBe('C');
    }
  });

  it('2. pause across rounds, then a new question starts round 3', () => {
    // The round-2 shuffle: 0.99 keeps position 2, 0 swaps positions 1 and 0 → [B, A, C].
    const ch = room('discuss', ['A', 'B', 'C'], ['H'], scripted(0.99, 0));
    ch.post('H');
    ch.post('A');
    expect(ch.noReply('B')).toMatchObject({ state: { passed: ['B'] }, speakerId: 'C', wake: ['C'] });
    expect(ch.noReply('C')).toMatchObject({
      state: { round: 2, order: ['B', 'A', 'C'], spoken: [], passed: ['B', 'C'] },
      speakerId: 'B',
      wake: ['B'],
    });
    expect(ch.noReply('B')).toMatchObject({ speakerId: 'A', wake: ['A'] });
    const paused = ch.noReply('A');
    expect(paused).toMatchObject({ state: { status: 'paused', round: 2, spoken: [] }, speakerId: null, wake: [] });
    expect([...paused.state.passed].sort()).toEqual(['A', 'B', 'C']);
    expect(ch.post('H')).toMatchObject({
      state: { status: 'active', round: 3, passed: [], spoken: [] },
      speakerId: 'B',
      wake: ['B'],
    });
  });

  it('3. queue-jump: C speaks early, A keeps the turn and is woken again', () => {
    const ch = room('discuss');
    ch.post('H');
    expect(ch.post('C')).toMatchObject({ state: { spoken: ['C'] }, speakerId: 'A', wake: ['A'] });
    expect(ch.post('A')).toMatchObject({ speakerId: 'B', wake: ['B'] });
    expect(ch.post('B')).toMatchObject({ state: { round: 2, spoken: [] } });
  });

  it('4. mention frame: C answers in a sub-frame, then takes its own root turn', () => {
    const ch = room('discuss');
    ch.post('H');
    expect(ch.post('A', 'C')).toMatchObject({
      state: { spoken: ['A'], frames: [{ by: 'A', queue: ['C'] }] },
      speakerId: 'C',
      wake: ['C'],
    });
    expect(ch.post('C')).toMatchObject({ state: { spoken: ['A'], frames: [] }, speakerId: 'B', wake: ['B'] });
    expect(ch.post('B')).toMatchObject({ speakerId: 'C', wake: ['C'] });
    expect(ch.post('C')).toMatchObject({ state: { round: 2, spoken: [] } });
  });

  describe.each([
    ['D, E, F in bypass', ['A', 'B', 'C'], ['H', 'D', 'E', 'F']],
    ['order [A..F]', ['A', 'B', 'C', 'D', 'E', 'F'], ['H']],
  ])('5. chain and cap (%s)', (_name, order, bypass) => {
    it('stops pushing at 4 frames and collapses all of them on the last answer', () => {
      const ch = room('discuss', order, bypass);
      ch.post('H');
      ch.post('A', 'B');
      ch.post('B', 'C');
      ch.post('C', 'D');
      expect(ch.post('D', 'E')).toMatchObject({
        state: {
          frames: [
            { by: 'A', queue: [] },
            { by: 'B', queue: [] },
            { by: 'C', queue: [] },
            { by: 'D', queue: ['E'] },
          ],
        },
        speakerId: 'E',
        wake: ['E'],
      });
      expect(ch.post('E', 'F')).toMatchObject({ state: { frames: [], spoken: ['A'] }, speakerId: 'B', wake: ['B'] });
    });
  });

  it('6. several mentions: queue [B, C]; B mentions D; then D, C, and B’s root turn', () => {
    const ch = room('discuss', ['A', 'B', 'C'], ['H', 'D']);
    ch.post('H');
    expect(ch.post('A', 'B', 'C')).toMatchObject({ state: { frames: [{ by: 'A', queue: ['B', 'C'] }] }, speakerId: 'B' });
    expect(ch.post('B', 'D')).toMatchObject({
      state: {
        frames: [
          { by: 'A', queue: ['C'] },
          { by: 'B', queue: ['D'] },
        ],
      },
      speakerId: 'D',
      wake: ['D'],
    });
    expect(ch.post('D')).toMatchObject({ state: { frames: [{ by: 'A', queue: ['C'] }] }, speakerId: 'C', wake: ['C'] });
    expect(ch.post('C')).toMatchObject({ state: { frames: [], spoken: ['A'] }, speakerId: 'B', wake: ['B'] });
    expect(ch.post('B')).toMatchObject({ state: { spoken: ['A', 'B'] }, speakerId: 'C' });
  });

  it('7. mention from idle: B answers, the channel stays idle, nobody is woken', () => {
    const ch = room('discuss');
    expect(ch.post('H', 'B')).toMatchObject({
      state: { status: 'idle', round: 0, frames: [{ by: 'H', queue: ['B'] }] },
      speakerId: 'B',
      wake: ['B'],
    });
    expect(ch.post('B')).toMatchObject({ state: { status: 'idle', round: 0, frames: [] }, speakerId: null, wake: [] });
  });

  it('8. force-proceed skips a hanging speaker and wakes the next', () => {
    const ch = room('discuss');
    ch.post('H');
    ch.post('A');
    expect(ch.forceProceed('H')).toMatchObject({
      state: { spoken: ['A', 'B'], passed: [] },
      speakerId: 'C',
      changed: true,
      wake: ['C'],
    });
  });

  it('9. moveToBypass mid-rotation hands the turn to C', () => {
    const ch = room('discuss');
    ch.post('H');
    ch.post('A');
    expect(ch.moveToBypass('B')).toMatchObject({
      state: { order: ['A', 'C'], bypass: ['H', 'B'], spoken: ['A'] },
      speakerId: 'C',
      wake: ['C'],
    });
  });

  it('10. work channel: round 2 keeps order [A, B, C] and draws no random number', () => {
    const ch = room('work', ['A', 'B', 'C'], ['H'], noRandom);
    ['H', 'A', 'B'].forEach((u) => ch.post(u));
    expect(ch.post('C')).toMatchObject({ state: { round: 2, order: ['A', 'B', 'C'] }, speakerId: 'A', wake: ['A'] });
  });
});

describe('docs/turn-engine.md worked example', () => {
  it('follows the table row by row', () => {
    const ch = room('discuss', ['A', 'B', 'C'], ['H'], scripted(0.99, 0)); // round 2 order [B, A, C]
    const rows: [
      step: () => TurnResult,
      status: string,
      round: number,
      order: string[],
      spoken: string[],
      passed: string[],
      frames: object[],
      speaker: string | null,
      wake: string[],
    ][] = [
      [() => ch.post('H'), 'active', 1, ['A', 'B', 'C'], [], [], [], 'A', ['A']],
      [() => ch.post('A', 'C'), 'active', 1, ['A', 'B', 'C'], ['A'], [], [{ by: 'A', queue: ['C'] }], 'C', ['C']],
      [() => ch.post('C'), 'active', 1, ['A', 'B', 'C'], ['A'], [], [], 'B', ['B']],
      [() => ch.noReply('B'), 'active', 1, ['A', 'B', 'C'], ['A', 'B'], ['B'], [], 'C', ['C']],
      [() => ch.forceProceed('H'), 'active', 2, ['B', 'A', 'C'], [], ['B'], [], 'B', ['B']],
      [() => ch.noReply('B'), 'active', 2, ['B', 'A', 'C'], ['B'], ['B'], [], 'A', ['A']],
      [() => ch.noReply('A'), 'active', 2, ['B', 'A', 'C'], ['B', 'A'], ['B', 'A'], [], 'C', ['C']],
      [() => ch.noReply('C'), 'paused', 2, ['B', 'A', 'C'], [], ['B', 'A', 'C'], [], null, []],
      [() => ch.ack(), 'active', 3, ['B', 'A', 'C'], [], [], [], 'B', ['B']],
      [() => ch.post('H', 'C'), 'active', 3, ['B', 'A', 'C'], [], [], [{ by: 'H', queue: ['C'] }], 'C', ['C']],
      [() => ch.post('C'), 'active', 3, ['B', 'A', 'C'], [], [], [], 'B', ['B']],
    ];
    for (const [step, status, round, order, spoken, passed, frames, speakerId, wake] of rows) {
      const r = step();
      expect(r).toMatchObject({ state: { status, round, order, spoken, passed, frames }, speakerId, wake, changed: true });
    }
  });
});

// --- edge cases ----------------------------------------------------------------------------

/** A state on order [A, B, C], bypass [H], with the given fields overridden. */
const st = (over: Partial<TurnState> = {}): TurnState => ({ ...initialTurnState(['A', 'B', 'C'], ['H']), ...over });
const active = (over: Partial<TurnState> = {}) => st({ status: 'active', round: 1, ...over });
const msg = (actorId: string, ...mentions: string[]): TurnEvent => ({ type: 'message', actorId, mentions });
const fourFrames = [
  { by: 'A', queue: [] },
  { by: 'B', queue: [] },
  { by: 'C', queue: [] },
  { by: 'D', queue: ['E'] },
];

interface Row {
  name: string;
  before: TurnState;
  event: TurnEvent;
  state?: Partial<TurnState>;
  speakerId: string | null;
  wake: string[];
  changed?: boolean;
  type?: TurnChannelType;
}

const rows: Row[] = [
  // rule 1
  {
    name: 'a message by an order member activates from idle with spoken {A}',
    before: st(),
    event: msg('A'),
    state: { status: 'active', round: 1, spoken: ['A'] },
    speakerId: 'B',
    wake: ['B'],
  },
  {
    name: 'a message mentioning only its author activates (M excludes A)',
    before: st(),
    event: msg('H', 'H'),
    state: { status: 'active', frames: [] },
    speakerId: 'A',
    wake: ['A'],
  },
  {
    name: 'mentions are deduplicated and lose the author, order kept',
    before: active(),
    event: msg('A', 'C', 'A', 'B', 'C'),
    state: { frames: [{ by: 'A', queue: ['C', 'B'] }] },
    speakerId: 'C',
    wake: ['C'],
  },
  { name: 'a bypass message while active changes nothing and wakes the speaker again', before: active(), event: msg('H'), changed: false, speakerId: 'A', wake: ['A'] },
  {
    name: 'the speaker’s own message does not wake itself (single-member order)',
    type: 'work',
    before: st({ order: ['A'] }),
    event: msg('A'),
    state: { status: 'active', round: 2, spoken: [] },
    speakerId: 'A',
    wake: [],
  },
  {
    name: 'an early frame answer (not the head) leaves the head speaking',
    before: active({ spoken: ['A'], frames: [{ by: 'A', queue: ['B', 'C'] }] }),
    event: msg('C'),
    state: { frames: [{ by: 'A', queue: ['B'] }], spoken: ['A'] },
    speakerId: 'B',
    wake: ['B'],
  },
  {
    name: 'a frame answer never activates a paused channel, but clears passed',
    before: st({ status: 'paused', round: 2, passed: ['A', 'B', 'C'], frames: [{ by: 'H', queue: ['B'] }] }),
    event: msg('B'),
    state: { status: 'paused', round: 2, passed: [], frames: [] },
    speakerId: null,
    wake: [],
  },
  {
    name: 'a message mentioning someone from paused opens a frame without activating',
    before: st({ status: 'paused', round: 2, passed: ['A', 'B', 'C'] }),
    event: msg('H', 'C'),
    state: { status: 'paused', passed: [], frames: [{ by: 'H', queue: ['C'] }] },
    speakerId: 'C',
    wake: ['C'],
  },
  {
    name: 'frames depth cap: a fifth frame is not pushed',
    before: active({ spoken: ['A'], frames: fourFrames }),
    event: msg('H', 'F'),
    changed: false,
    speakerId: 'E',
    wake: ['E'],
  },
  {
    name: 'frames below the cap: a fourth frame is pushed',
    before: active({
      spoken: ['A'],
      frames: [
        { by: 'A', queue: [] },
        { by: 'B', queue: [] },
        { by: 'C', queue: ['D'] },
      ],
    }),
    event: msg('D', 'E'),
    state: { frames: fourFrames },
    speakerId: 'E',
    wake: ['E'],
  },
  // rule 2
  { name: 'no-reply by someone not in order → no change', before: active(), event: { type: 'no-reply', actorId: 'H' }, changed: false, speakerId: 'A', wake: [] },
  {
    name: 'no-reply by someone who already spoke → no change',
    before: active({ spoken: ['A'] }),
    event: { type: 'no-reply', actorId: 'A' },
    changed: false,
    speakerId: 'B',
    wake: [],
  },
  { name: 'no-reply while idle → no change', before: st(), event: { type: 'no-reply', actorId: 'A' }, changed: false, speakerId: null, wake: [] },
  {
    name: 'no-reply by a mentioned member answers the frame only',
    before: active({ spoken: ['A'], frames: [{ by: 'A', queue: ['C'] }] }),
    event: { type: 'no-reply', actorId: 'C' },
    state: { frames: [], spoken: ['A'], passed: [] },
    speakerId: 'B',
    wake: ['B'],
  },
  {
    name: 'a queue-jumping pass counts as a turn taken',
    before: active(),
    event: { type: 'no-reply', actorId: 'C' },
    state: { spoken: ['C'], passed: ['C'] },
    changed: true,
    speakerId: 'A',
    wake: [],
  },
  // rule 3
  {
    name: 'force-proceed in idle activates',
    before: st(),
    event: { type: 'force-proceed', actorId: 'H' },
    state: { status: 'active', round: 1, spoken: [], passed: [] },
    speakerId: 'A',
    wake: ['A'],
  },
  {
    name: 'force-proceed in paused starts a new round and clears passed',
    before: st({ status: 'paused', round: 2, passed: ['A', 'B', 'C'] }),
    event: { type: 'force-proceed', actorId: 'H' },
    state: { status: 'active', round: 3, passed: [] },
    speakerId: 'A',
    wake: ['A'],
  },
  { name: 'force-proceed with an empty order → no change', before: st({ order: [] }), event: { type: 'force-proceed', actorId: 'H' }, changed: false, speakerId: null, wake: [] },
  {
    name: 'force-proceed with a frame open skips the mentioned speaker',
    before: active({ spoken: ['A'], frames: [{ by: 'A', queue: ['C', 'B'] }] }),
    event: { type: 'force-proceed', actorId: 'H' },
    state: { frames: [{ by: 'A', queue: ['B'] }], spoken: ['A'] },
    speakerId: 'B',
    wake: ['B'],
  },
  {
    name: 'force-proceed in idle with a frame open skips the mentioned one, stays idle',
    before: st({ frames: [{ by: 'H', queue: ['B'] }] }),
    event: { type: 'force-proceed', actorId: 'H' },
    state: { status: 'idle', frames: [] },
    speakerId: null,
    wake: [],
  },
  {
    name: 'force-proceed does not wake its actor when it becomes the speaker',
    before: active(),
    event: { type: 'force-proceed', actorId: 'B' },
    state: { spoken: ['A'] },
    speakerId: 'B',
    wake: [],
  },
  // rule 4
  { name: 'ack when active → no-op, nobody woken', before: active({ spoken: ['A'] }), event: { type: 'ack' }, changed: false, speakerId: 'B', wake: [] },
  { name: 'ack when idle activates', before: st(), event: { type: 'ack' }, state: { status: 'active', round: 1 }, speakerId: 'A', wake: ['A'] },
  {
    name: 'ack when paused starts a new round',
    before: st({ status: 'paused', round: 4, passed: ['A', 'B', 'C'] }),
    event: { type: 'ack' },
    state: { status: 'active', round: 5, passed: [], spoken: [] },
    speakerId: 'A',
    wake: ['A'],
  },
  { name: 'ack with an empty order → no change', before: st({ order: [] }), event: { type: 'ack' }, changed: false, speakerId: null, wake: [] },
  // rule 5
  { name: 'leave of the speaker advances', before: active({ spoken: ['A'] }), event: { type: 'leave', userId: 'B' }, state: { order: ['A', 'C'] }, speakerId: 'C', wake: ['C'] },
  {
    name: 'leave of the last unspoken member ends the round',
    type: 'work',
    before: active({ spoken: ['A', 'B'] }),
    event: { type: 'leave', userId: 'C' },
    state: { round: 2, order: ['A', 'B'], spoken: [] },
    speakerId: 'A',
    wake: ['A'],
  },
  {
    name: 'leave removes the user from frame queues',
    before: active({ spoken: ['A'], frames: [{ by: 'A', queue: ['H'] }] }),
    event: { type: 'leave', userId: 'H' },
    state: { bypass: [], frames: [] },
    speakerId: 'B',
    wake: ['B'],
  },
  {
    name: 'order becoming empty → idle',
    before: active({ order: ['A'], bypass: ['H'] }),
    event: { type: 'leave', userId: 'A' },
    state: { status: 'idle', order: [], spoken: [] },
    speakerId: null,
    wake: [],
  },
  {
    name: 'PUT turn with an empty order → idle',
    before: active({ spoken: ['A'] }),
    event: { type: 'set-lists', order: [], bypass: ['A', 'B', 'C', 'H'] },
    state: { status: 'idle', order: [], spoken: [], bypass: ['A', 'B', 'C', 'H'] },
    speakerId: null,
    wake: [],
  },
  {
    name: 'pause via membership: the only member who had not passed leaves',
    before: active({ round: 2, spoken: ['B'], passed: ['B', 'C'] }),
    event: { type: 'leave', userId: 'A' },
    state: { status: 'paused', spoken: [], order: ['B', 'C'] },
    speakerId: null,
    wake: [],
  },
  {
    name: 'pause via moveToBypass',
    before: active({ round: 2, spoken: ['B'], passed: ['B', 'C'] }),
    event: { type: 'move-to-bypass', userId: 'A' },
    state: { status: 'paused', bypass: ['H', 'A'] },
    speakerId: null,
    wake: [],
  },
  { name: 'join of an existing member → no change', before: active(), event: { type: 'join', userId: 'H', bypass: false }, changed: false, speakerId: 'A', wake: [] },
  {
    name: 'join as bypass appends to bypass',
    before: active(),
    event: { type: 'join', userId: 'Z', bypass: true },
    state: { bypass: ['H', 'Z'], order: ['A', 'B', 'C'] },
    speakerId: 'A',
    wake: [],
  },
  {
    name: 'join to the order appends without changing the speaker',
    before: active({ spoken: ['A'] }),
    event: { type: 'join', userId: 'Z', bypass: false },
    state: { order: ['A', 'B', 'C', 'Z'], spoken: ['A'] },
    speakerId: 'B',
    wake: [],
  },
  {
    name: 'join does not resume a paused channel',
    before: st({ status: 'paused', passed: ['A', 'B', 'C'] }),
    event: { type: 'join', userId: 'Z', bypass: false },
    state: { status: 'paused', order: ['A', 'B', 'C', 'Z'] },
    speakerId: null,
    wake: [],
  },
  { name: 'move-to-bypass of a user not in order → no change', before: active(), event: { type: 'move-to-bypass', userId: 'H' }, changed: false, speakerId: 'A', wake: [] },
  { name: 'move-to-order of a user not in bypass → no change', before: active(), event: { type: 'move-to-order', userId: 'A' }, changed: false, speakerId: 'A', wake: [] },
  {
    name: 'move-to-order appends; an open frame keeps its speaker',
    before: active({ spoken: ['A', 'B', 'C'], frames: [{ by: 'C', queue: ['B'] }] }),
    event: { type: 'move-to-order', userId: 'H' },
    state: { order: ['A', 'B', 'C', 'H'], bypass: [] },
    speakerId: 'B',
    wake: [],
  },
  {
    name: 'move-to-bypass keeps a pending mention of the user',
    before: active({ spoken: ['A'], frames: [{ by: 'A', queue: ['B'] }] }),
    event: { type: 'move-to-bypass', userId: 'B' },
    state: { order: ['A', 'C'], frames: [{ by: 'A', queue: ['B'] }] },
    speakerId: 'B',
    wake: [],
  },
  {
    name: 'PUT turn dedupes, resolves overlap for order, filters spoken and passed',
    before: active({ spoken: ['C', 'A'], passed: ['C'] }),
    event: { type: 'set-lists', order: ['C', 'B', 'C', 'H'], bypass: ['A', 'H', 'A'] },
    state: { order: ['C', 'B', 'H'], bypass: ['A'], spoken: ['C'], passed: ['C'] },
    speakerId: 'B',
    wake: [],
  },
  {
    name: 'PUT turn that changes the speaker wakes the new one',
    before: active({ spoken: ['A'] }),
    event: { type: 'set-lists', order: ['A', 'C', 'B'], bypass: ['H'] },
    state: { order: ['A', 'C', 'B'] },
    speakerId: 'C',
    wake: ['C'],
  },
  // "Who is woken": an event without a stored message never wakes its actor
  {
    name: 'PUT turn by a user who becomes the speaker does not wake it',
    before: active(),
    event: { type: 'set-lists', order: ['H', 'A', 'B', 'C'], bypass: [], actorId: 'H' },
    state: { order: ['H', 'A', 'B', 'C'] },
    speakerId: 'H',
    wake: [],
  },
  {
    name: 'PUT turn by the guild token (no actor) wakes the new speaker',
    before: active(),
    event: { type: 'set-lists', order: ['H', 'A', 'B', 'C'], bypass: [] },
    speakerId: 'H',
    wake: ['H'],
  },
  {
    name: 'ack by an admin who is the first speaker does not wake it',
    before: st(),
    event: { type: 'ack', actorId: 'A' },
    state: { status: 'active', round: 1 },
    speakerId: 'A',
    wake: [],
  },
  {
    name: 'removal by the member who becomes the speaker does not wake it',
    before: active({ spoken: ['A'] }),
    event: { type: 'leave', userId: 'B', actorId: 'C' },
    state: { order: ['A', 'C'] },
    speakerId: 'C',
    wake: [],
  },
  {
    name: 'moveToBypass of the speaker by itself wakes the next speaker',
    before: active({ spoken: ['A'] }),
    event: { type: 'move-to-bypass', userId: 'B', actorId: 'B' },
    state: { order: ['A', 'C'] },
    speakerId: 'C',
    wake: ['C'],
  },
  // rule 6
  {
    name: 'work keeps order at the end of a round',
    type: 'work',
    before: active({ order: ['C', 'A', 'B'], spoken: ['C', 'A'] }),
    event: msg('B'),
    state: { round: 2, order: ['C', 'A', 'B'], spoken: [] },
    speakerId: 'C',
    wake: ['C'],
  },
  {
    name: 'a round does not end while a frame is open',
    before: active({ spoken: ['A', 'B'] }),
    event: msg('C', 'H'),
    state: { round: 1, spoken: ['A', 'B', 'C'], frames: [{ by: 'C', queue: ['H'] }] },
    speakerId: 'H',
    wake: ['H'],
  },
  {
    name: 'the answer to the last open frame ends the round',
    type: 'work',
    before: active({ spoken: ['A', 'B', 'C'], frames: [{ by: 'C', queue: ['H'] }] }),
    event: msg('H'),
    state: { round: 2, spoken: [], frames: [] },
    speakerId: 'A',
    wake: ['A'],
  },
];

describe('applyTurnEvent edge cases', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const before = structuredClone(row.before);
    const result = applyTurnEvent(row.before, row.event, row.type ?? 'discuss', seededRandom(7));
    expect(row.before).toEqual(before); // input never mutated
    if (row.state) expect(result.state).toMatchObject(row.state);
    if (row.changed !== undefined) expect(result.changed).toBe(row.changed);
    if (row.changed === false) expect(result.state).toEqual(row.before);
    expect(result.speakerId).toBe(row.speakerId);
    expect(result.speakerId).toBe(deriveSpeaker(result.state));
    expect(result.wake).toEqual(row.wake);
  });
});

describe('shuffle and helpers', () => {
  it('a single-member discuss order is kept at the end of a round', () => {
    const r = applyTurnEvent(active({ order: ['A'], bypass: [] }), msg('A'), 'discuss', seededRandom(3));
    expect(r.state).toMatchObject({ round: 2, order: ['A'], spoken: [] });
  });

  it.each([[() => 1], [() => -0.5], [() => Number.NaN]])('a misbehaving random source still yields a permutation', (random) => {
    const r = applyTurnEvent(active({ spoken: ['A', 'B'] }), msg('C'), 'discuss', random);
    expect([...r.state.order].sort()).toEqual(['A', 'B', 'C']);
    expect(r.state.order[0]).not.toBe('C');
  });

  it('a user moved to the order during a running round gets a turn in it', () => {
    const moved = applyTurnEvent(active({ spoken: ['A', 'B', 'C'], frames: [{ by: 'C', queue: ['B'] }] }), { type: 'move-to-order', userId: 'H' }, 'discuss', noRandom);
    expect(applyTurnEvent(moved.state, msg('B'), 'discuss', noRandom)).toMatchObject({
      state: { round: 1, frames: [] },
      speakerId: 'H',
      wake: ['H'],
    });
  });

  it('initialTurnState is idle, round 0, with deduplicated disjoint lists', () => {
    expect(initialTurnState(['A', 'B', 'A'], ['H', 'B', 'H'])).toEqual({
      status: 'idle',
      round: 0,
      order: ['A', 'B'],
      bypass: ['H'],
      spoken: [],
      passed: [],
      frames: [],
    });
  });

  it('seededRandom is deterministic and stays in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it('deriveSpeaker reads the top non-empty frame, then the root speaker', () => {
    expect(
      deriveSpeaker(
        active({
          frames: [
            { by: 'A', queue: ['C'] },
            { by: 'C', queue: [] },
          ],
        }),
      ),
    ).toBe('C');
    expect(deriveSpeaker(active({ spoken: ['A'] }))).toBe('B');
    expect(deriveSpeaker(st({ status: 'paused' }))).toBeNull();
  });
});
