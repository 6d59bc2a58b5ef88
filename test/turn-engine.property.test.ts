import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDue, nextSpeakerClock, NO_CLOCK } from '../lib/turns/speaker-clock.js';
import { applyTurnEvent, deriveSpeaker, initialTurnState, seededRandom, type TurnChannelType, type TurnEvent, type TurnResult, type TurnState } from '../lib/turns/engine.js';

const NUM_RUNS = 500;
const pool = ['A', 'B', 'C', 'D', 'E', 'H'];
const user = fc.constantFrom(...pool);
/** Stands for "whoever speaks now" (resolved in `run`), so sequences look like real conversations. */
const SPEAKER = '<speaker>';
const actor = fc.oneof({ weight: 2, arbitrary: fc.constant(SPEAKER) }, { weight: 1, arbitrary: user });
const users = fc.array(user, { maxLength: 5 }); // duplicates and the actor included on purpose

const event: fc.Arbitrary<TurnEvent> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('message' as const),
      actorId: actor,
      mentions: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 1, arbitrary: users }),
    }),
  },
  // the speaker hands over by mention: builds frame chains up to the cap
  { weight: 3, arbitrary: fc.record({ type: fc.constant('message' as const), actorId: fc.constant(SPEAKER), mentions: fc.array(user, { minLength: 1, maxLength: 2 }) }) },
  { weight: 6, arbitrary: fc.record({ type: fc.constant('no-reply' as const), actorId: actor }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('force-proceed' as const), actorId: actor }) },
  // The requester of an ack or a list change: a user, or the guild token (no actor).
  { weight: 1, arbitrary: fc.record({ type: fc.constant('ack' as const), actorId: actor }, { requiredKeys: ['type'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('join' as const), userId: user, bypass: fc.boolean(), actorId: actor }, { requiredKeys: ['type', 'userId', 'bypass'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leave' as const), userId: user, actorId: actor }, { requiredKeys: ['type', 'userId'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('move-to-bypass' as const), userId: user, actorId: actor }, { requiredKeys: ['type', 'userId'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('move-to-order' as const), userId: user, actorId: actor }, { requiredKeys: ['type', 'userId'] }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('set-lists' as const), order: users, bypass: users, actorId: actor }, { requiredKeys: ['type', 'order', 'bypass'] }) },
  // a reply (repliesWake on): its target's author counts as a mention
  { weight: 2, arbitrary: fc.record({ type: fc.constant('message' as const), actorId: actor, mentions: fc.constant<string[]>([]), replyToAuthorId: user }) },
  // a timeout of whoever speaks now, or a stale one (of someone who no longer speaks)
  { weight: 2, arbitrary: fc.record({ type: fc.constant('timeout' as const), speakerId: actor }) },
);

const scenario = fc.record({
  channelType: fc.constantFrom<TurnChannelType>('discuss', 'work'),
  order: fc.shuffledSubarray(pool, { minLength: 1 }),
  bypass: fc.shuffledSubarray(pool),
  seed: fc.integer(),
  events: fc.array(event, { minLength: 1, maxLength: 40, size: 'medium' }),
});
type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function resolveSpeaker(ev: TurnEvent, state: TurnState): TurnEvent {
  if (ev.type === 'timeout') return ev.speakerId === SPEAKER ? { ...ev, speakerId: deriveSpeaker(state) ?? 'H' } : ev;
  if (!('actorId' in ev) || ev.actorId !== SPEAKER) return ev;
  return { ...ev, actorId: deriveSpeaker(state) ?? 'H' };
}

/** Runs a scenario, calling `check` after every event with the state before and the result. */
function run(s: Scenario, check: (before: TurnState, ev: TurnEvent, result: TurnResult) => void): TurnState {
  const random = seededRandom(s.seed);
  let state = initialTurnState(s.order, s.bypass);
  for (const generated of s.events) {
    const ev = resolveSpeaker(generated, state);
    const result = applyTurnEvent(state, ev, s.channelType, random);
    check(state, ev, result);
    state = result.state;
  }
  return state;
}

const holdsAfterEveryEvent = (check: (before: TurnState, ev: TurnEvent, result: TurnResult) => void) =>
  fc.assert(
    fc.property(scenario, (s) => void run(s, check)),
    { numRuns: NUM_RUNS },
  );

const isSubset = (xs: string[], of: string[]) => xs.every((x) => of.includes(x));
const hasDuplicates = (xs: string[]) => new Set(xs).size !== xs.length;

describe('turn engine invariants over random event sequences', () => {
  it('never throws', () => {
    holdsAfterEveryEvent(() => {});
  });

  it('never mutates its input state', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const random = seededRandom(s.seed);
        let state = initialTurnState(s.order, s.bypass);
        for (const generated of s.events) {
          const ev = resolveSpeaker(generated, state);
          const snapshot = structuredClone(state);
          const result = applyTurnEvent(state, ev, s.channelType, random);
          expect(state).toEqual(snapshot);
          state = result.state;
        }
      }),
      { numRuns: NUM_RUNS },
    );
  });

  it('keeps order and bypass disjoint and free of duplicates', () => {
    holdsAfterEveryEvent((_b, _e, { state }) => {
      expect(state.order.filter((u) => state.bypass.includes(u))).toEqual([]);
      expect(hasDuplicates(state.order) || hasDuplicates(state.bypass)).toBe(false);
    });
  });

  it('keeps spoken ⊆ order and passed ⊆ order', () => {
    holdsAfterEveryEvent((_b, _e, { state }) => {
      expect(isSubset(state.spoken, state.order)).toBe(true);
      expect(isSubset(state.passed, state.order)).toBe(true);
    });
  });

  it('holds at most 4 frames, the top one never empty', () => {
    holdsAfterEveryEvent((_b, _e, { state }) => {
      expect(state.frames.length).toBeLessThanOrEqual(4);
      if (state.frames.length > 0) expect(state.frames[state.frames.length - 1].queue.length).toBeGreaterThan(0);
    });
  });

  it('has a speaker iff the status is active or a frame is open', () => {
    holdsAfterEveryEvent((_b, _e, { state, speakerId }) => {
      expect(speakerId).toBe(deriveSpeaker(state));
      expect(speakerId !== null).toBe(state.status === 'active' || state.frames.length > 0);
    });
  });

  it('wakes nobody when paused or idle without frames', () => {
    holdsAfterEveryEvent((_b, _e, { state, wake }) => {
      if (state.status !== 'active' && state.frames.length === 0) expect(wake).toEqual([]);
    });
  });

  it('wakes nobody or exactly the speaker, never the actor', () => {
    holdsAfterEveryEvent((_b, ev, { speakerId, wake }) => {
      expect(wake.length === 0 || (wake.length === 1 && wake[0] === speakerId)).toBe(true);
      if (ev.actorId !== undefined) expect(wake).not.toContain(ev.actorId);
    });
  });

  it('reports changed exactly when the state differs, and never moves the round backwards', () => {
    holdsAfterEveryEvent((before, _e, { state, changed }) => {
      expect(changed).toBe(JSON.stringify(state) !== JSON.stringify(before));
      expect(state.round).toBeGreaterThanOrEqual(before.round);
    });
  });

  it('generates sequences that reach pauses, the frame cap and round ends', () => {
    const seen = { paused: 0, fourFrames: 0, roundEnds: 0, wakes: 0 };
    for (const s of fc.sample(scenario, { numRuns: NUM_RUNS, seed: 1 })) {
      run(s, (before, ev, { state, wake }) => {
        if (state.status === 'paused') seen.paused++;
        if (state.frames.length === 4) seen.fourFrames++;
        if (state.status === 'active' && before.status === 'active' && state.round > before.round) seen.roundEnds++;
        seen.wakes += wake.length;
      });
    }
    expect(Math.min(...Object.values(seen))).toBeGreaterThan(50);
  });

  it('is deterministic for a given random seed', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        expect(run(s, () => {})).toEqual(run(s, () => {}));
      }),
      { numRuns: NUM_RUNS },
    );
  });
});

describe('wake reasons and timeouts over random event sequences', () => {
  it('gives a reason exactly when someone is woken; a timeout wakes for timeout', () => {
    holdsAfterEveryEvent((_b, ev, { wake, wakeReason }) => {
      expect(wakeReason === null).toBe(wake.length === 0);
      if (ev.type === 'timeout' && wake.length > 0) expect(wakeReason).toBe('timeout');
      if (ev.type !== 'message' && ev.type !== 'timeout' && wakeReason !== null) expect(['speaker', 'frame']).toContain(wakeReason);
    });
  });

  it('a timeout of someone who is not the speaker changes nothing', () => {
    holdsAfterEveryEvent((before, ev, { changed }) => {
      if (ev.type === 'timeout' && deriveSpeaker(before) !== ev.speakerId) expect(changed).toBe(false);
    });
  });

  it('the timer never skips a speaker that answered, with timeouts and replies interleaved', () => {
    const timed = fc.record({ s: scenario, timeoutSeconds: fc.integer({ min: 1, max: 5 }), steps: fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 40, maxLength: 40 }) });
    fc.assert(
      fc.property(timed, ({ s, timeoutSeconds, steps }) => {
        const random = seededRandom(s.seed);
        let state = initialTurnState(s.order, s.bypass);
        let clock = NO_CLOCK;
        let now = 0;
        const lastAnswer = new Map<string, number>();
        const apply = (ev: TurnEvent) => {
          const before = deriveSpeaker(state);
          const r = applyTurnEvent(state, ev, s.channelType, random);
          clock = nextSpeakerClock(clock, ev, before, r.speakerId, r.changed, timeoutSeconds, now);
          state = r.state;
          return r;
        };
        s.events.forEach((generated, i) => {
          now += steps[i];
          if (isDue(clock, now)) {
            const speaker = deriveSpeaker(state)!;
            // The speaker whose deadline passed did not answer since its turn (or its clock) started.
            expect(lastAnswer.get(speaker) ?? -1).toBeLessThanOrEqual(clock.speakerSince!);
            const r = apply({ type: 'timeout', speakerId: speaker });
            expect(r.changed).toBe(true);
          }
          const ev = resolveSpeaker(generated, state);
          if (ev.type === 'timeout') return; // the timer alone fires timeouts here
          if (ev.type === 'message' || ev.type === 'no-reply') lastAnswer.set(ev.actorId, now);
          apply(ev);
          // The invariants hold between timeouts too.
          expect(clock.speakerSince === null).toBe(deriveSpeaker(state) === null);
          if (clock.deadline !== null) expect(clock.deadline).toBe(clock.speakerSince! + timeoutSeconds * 1000);
        });
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
