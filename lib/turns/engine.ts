/**
 * The turn engine of discuss and work channels (turns.md). Pure: state + event → new state
 * + who to wake. No I/O, no clock, no app imports; randomness is injected.
 *
 * In one paragraph: members of `order` speak one at a time (the root speaker is the first
 * of `order` not yet in `spoken`). When all have spoken the round ends (rule 6): discuss
 * channels shuffle the order, work channels keep it. A `/no-reply` is a turn taken; when
 * everyone in the order has passed since the last stored message, the channel pauses until
 * a message, `/force-proceed` or guild ack starts a new round. An @-mention opens a
 * sub-frame: the mentioned members answer first, in mention order, then the root order
 * continues. Frames nest up to 4 deep.
 *
 * The rules below are numbered exactly as in turns.md "Events and rules":
 * rule 1 stored message, 2 `/no-reply`, 3 `/force-proceed`, 4 guild ack, 5 membership and
 * order changes, 6 collapse and advance (after every event). "Who is woken" is `wakeFor`.
 *
 * Where turns.md is silent (also listed in docs/turn-engine.md):
 * - An event that does not apply (join of a member, move of a user not in the source list,
 *   `/no-reply` by someone with no turn to take, …) returns the state unchanged; never throws.
 * - moveToBypass also drops the user from `passed` (`passed` ⊆ `order`, as PUT turn does).
 * - PUT turn lists are deduplicated; a user in both lists stays in `order` only.
 *   `spoken`/`passed` keep their order (so "last of spoken" survives a PUT).
 * - Only `leave` takes a user out of frame queues: moved to bypass (or out of both lists by
 *   PUT turn), a mentioned member still owes its answer.
 * - `wake` of an event without a stored message is empty when the state did not change
 *   (no `turn.updated` is emitted then), e.g. a guild ack while active.
 * - The actor of a membership or order event is the user who made the request (none for
 *   the guild token); like every event without a stored message, it never wakes its actor.
 */

export type TurnChannelType = 'discuss' | 'work';
export type TurnStatus = 'idle' | 'active' | 'paused';
export interface TurnFrame {
  by: string;
  queue: string[];
}
export interface TurnState {
  status: TurnStatus;
  round: number;
  order: string[];
  bypass: string[];
  spoken: string[];
  passed: string[];
  frames: TurnFrame[];
}
/**
 * `actorId` is who caused the event ("Who is woken": never woken by its own event). It is
 * optional where the caller may be the guild token, which is nobody's user id.
 */
export type TurnEvent =
  // mentions (and replyToAuthorId): already restricted to channel members
  | { type: 'message'; actorId: string; mentions: string[]; replyToAuthorId?: string | null }
  | { type: 'no-reply'; actorId: string }
  | { type: 'force-proceed'; actorId: string }
  | { type: 'ack'; actorId?: string }
  | { type: 'join'; userId: string; bypass: boolean; actorId?: string }
  | { type: 'leave'; userId: string; actorId?: string }
  | { type: 'move-to-bypass'; userId: string; actorId?: string }
  | { type: 'move-to-order'; userId: string; actorId?: string }
  | { type: 'set-lists'; order: string[]; bypass: string[]; actorId?: string }
  // The deadline of `speakerId` passed: `/force-proceed` with no actor, only if it still speaks.
  | { type: 'timeout'; speakerId: string; actorId?: undefined };
/** Why a member is woken (agent-rooms.md "Wake reasons"): the turn engine's share of them. */
export type TurnWakeReason = 'speaker' | 'mention' | 'reply' | 'frame' | 'timeout';
/** A number in [0, 1), like Math.random. */
export type RandomSource = () => number;
export interface TurnResult {
  state: TurnState;
  speakerId: string | null;
  /** Any state field differs from the input. */
  changed: boolean;
  /** Users to wake: empty or exactly [speakerId]. */
  wake: string[];
  /** Why `wake` is woken; null when `wake` is empty. */
  wakeReason: TurnWakeReason | null;
}

/** Depth cap: at most 4 frames on the stack (root + 4 = 5 levels). */
const MAX_FRAMES = 4;

const uniq = (ids: readonly string[]): string[] => [...new Set(ids)];
const without = (ids: readonly string[], id: string): string[] => ids.filter((x) => x !== id);

/** A fresh channel: idle, round 0 (turns.md "Defaults"). */
export function initialTurnState(order: string[], bypass: string[]): TurnState {
  return { status: 'idle', round: 0, ...normaliseLists(order, bypass), spoken: [], passed: [], frames: [] };
}

/** The speaker: head of the top non-empty frame, else (when active) the root speaker R. */
export function deriveSpeaker(state: TurnState): string | null {
  return topNonEmptyFrame(state)?.queue[0] ?? rootSpeaker(state);
}

/** R: when active, the first member of `order` not in `spoken`; otherwise none. */
function rootSpeaker(s: TurnState): string | null {
  if (s.status !== 'active') return null;
  return s.order.find((u) => !s.spoken.includes(u)) ?? null;
}

/** Applies one event (turns.md rules 1–6) and says who to wake. Never mutates `state`. */
export function applyTurnEvent(state: TurnState, event: TurnEvent, channelType: TurnChannelType, random: RandomSource): TurnResult {
  const s = cloneState(state); // every rule below edits this draft only
  let opened: TurnFrame | undefined; // the frame this message pushed, if any
  switch (event.type) {
    case 'message':
      opened = rule1StoredMessage(s, event.actorId, messageMentions(event));
      break;
    case 'no-reply':
      rule2NoReply(s, event.actorId);
      break;
    case 'force-proceed':
      rule3ForceProceed(s);
      break;
    case 'timeout':
      if (deriveSpeaker(s) === event.speakerId) rule3ForceProceed(s);
      break;
    case 'ack':
      rule4GuildAck(s);
      break;
    case 'join':
    case 'leave':
    case 'move-to-bypass':
    case 'move-to-order':
    case 'set-lists':
      rule5Membership(s, event);
      break;
    default:
      break; // unknown event: no change
  }
  rule6CollapseAndAdvance(s, channelType, random);
  const speakerId = deriveSpeaker(s);
  const changed = !sameState(state, s);
  const wake = wakeFor(event, deriveSpeaker(state), speakerId, changed);
  return { state: s, speakerId, changed, wake, wakeReason: wake.length > 0 ? wakeReasonFor(s, event, opened) : null };
}

/**
 * M of rule 1: the message's mentions, then (with repliesWake) its reply target's author;
 * deduplicated, without the author.
 */
function messageMentions(event: Extract<TurnEvent, { type: 'message' }>): string[] {
  const all = event.replyToAuthorId ? [...event.mentions, event.replyToAuthorId] : event.mentions;
  return uniq(all).filter((u) => u !== event.actorId);
}

/**
 * Why the speaker after `event` is woken: `timeout` after a timeout; the head of a frame this
 * message opened by mention (`mention`) or by reply only (`reply`); the head of any other
 * frame (`frame`); else the root speaker (`speaker`).
 */
function wakeReasonFor(s: TurnState, event: TurnEvent, opened: TurnFrame | undefined): TurnWakeReason {
  if (event.type === 'timeout') return 'timeout';
  const top = topNonEmptyFrame(s);
  if (!top) return 'speaker';
  if (top !== opened || event.type !== 'message') return 'frame';
  return event.mentions.includes(top.queue[0]) ? 'mention' : 'reply';
}

/** Rule 1 — stored message by A (any non-command message); `m` is M. Returns the frame it pushed. */
function rule1StoredMessage(s: TurnState, actor: string, m: readonly string[]): TurnFrame | undefined {
  s.passed = [];
  const frameAnswer = inAnyQueue(s, actor);
  if (frameAnswer) {
    removeFromQueues(s, actor); // never a root turn, never activates
  } else if (s.status === 'active' && s.order.includes(actor) && !s.spoken.includes(actor)) {
    s.spoken.push(actor); // A's turn when A = R, otherwise a queue-jump (R keeps the turn)
  }
  let opened: TurnFrame | undefined;
  if (m.length > 0 && s.frames.length < MAX_FRAMES) s.frames.push((opened = { by: actor, queue: [...m] }));
  // Activation from idle (or paused).
  if (!frameAnswer && s.status !== 'active' && m.length === 0 && s.order.length > 0) {
    s.status = 'active';
    s.round += 1;
    s.spoken = s.order.includes(actor) ? [actor] : [];
  }
  return opened;
}

/** Rule 2 — `/no-reply` by A: a pass is a turn taken. */
function rule2NoReply(s: TurnState, actor: string): void {
  if (inAnyQueue(s, actor)) {
    removeFromQueues(s, actor);
  } else if (s.status === 'active' && s.order.includes(actor) && !s.spoken.includes(actor)) {
    s.spoken.push(actor);
    if (!s.passed.includes(actor)) s.passed.push(actor);
    if (everyoneInOrderPassed(s)) pause(s);
  } // else: no change
}

/** Rule 3 — `/force-proceed` by any channel member: skip the speaker, or start a round. */
function rule3ForceProceed(s: TurnState): void {
  const top = topNonEmptyFrame(s);
  if (top) {
    top.queue.shift(); // the mentioned speaker is skipped
  } else if (s.status === 'active') {
    const r = rootSpeaker(s);
    if (r !== null) s.spoken.push(r); // skipped; `passed` unchanged
  } else {
    activate(s);
  }
}

/** Rule 4 — guild ack: activation as in rule 3 when idle or paused; nothing when active. */
function rule4GuildAck(s: TurnState): void {
  if (s.status !== 'active') activate(s);
}

/** Rule 5 — membership and order changes. */
function rule5Membership(s: TurnState, event: Extract<TurnEvent, { userId: string } | { type: 'set-lists' }>): void {
  switch (event.type) {
    case 'join':
      if (s.order.includes(event.userId) || s.bypass.includes(event.userId)) return; // already a member
      (event.bypass ? s.bypass : s.order).push(event.userId);
      break;
    case 'leave':
      for (const k of ['order', 'bypass', 'spoken', 'passed'] as const) s[k] = without(s[k], event.userId);
      removeFromQueues(s, event.userId);
      break;
    case 'move-to-bypass':
      if (!s.order.includes(event.userId)) return;
      // `passed` too, so that `passed` ⊆ `order` holds (the spec names `order` and `spoken`).
      for (const k of ['order', 'spoken', 'passed'] as const) s[k] = without(s[k], event.userId);
      s.bypass.push(event.userId);
      break;
    case 'move-to-order':
      if (!s.bypass.includes(event.userId)) return;
      s.bypass = without(s.bypass, event.userId);
      s.order.push(event.userId); // gets a turn in this round if the round is still running
      break;
    case 'set-lists':
      Object.assign(s, normaliseLists(event.order, event.bypass));
      s.spoken = s.spoken.filter((u) => s.order.includes(u));
      s.passed = s.passed.filter((u) => s.order.includes(u));
      break;
  }
  // After any of these:
  if (s.status === 'active' && s.order.length > 0 && everyoneInOrderPassed(s)) pause(s);
  if (s.order.length === 0) s.status = 'idle';
}

/** Rule 6 — collapse and advance, after every event. */
function rule6CollapseAndAdvance(s: TurnState, channelType: TurnChannelType, random: RandomSource): void {
  // An answered frame stays while frames above it are open: this bounds mention chains.
  while (s.frames.length > 0 && s.frames[s.frames.length - 1].queue.length === 0) s.frames.pop();
  const roundOver = s.order.length > 0 && s.order.every((u) => s.spoken.includes(u));
  if (s.status !== 'active' || s.frames.length > 0 || !roundOver) return;
  // End of round. `spoken` is read before it is cleared: its last member ended the round.
  const endedBy = s.spoken[s.spoken.length - 1];
  s.round += 1;
  s.spoken = [];
  if (channelType === 'discuss') s.order = shuffleForNextRound(s.order, endedBy, random);
}

/** Rule 6 shuffle: Fisher–Yates, then never let the member who ended the round open the next. */
function shuffleForNextRound(order: readonly string[], endedBy: string | undefined, random: RandomSource): string[] {
  const out = [...order];
  for (let i = out.length - 1; i > 0; i--) swap(out, i, randomIndex(random, i + 1));
  if (out.length >= 2 && out[0] === endedBy) swap(out, 0, 1 + randomIndex(random, out.length - 1));
  return out;
}

/** Who is woken (turns.md): empty or exactly [speakerId]. */
function wakeFor(event: TurnEvent, before: string | null, after: string | null, changed: boolean): string[] {
  if (after === null) return []; // idle or paused with no frames: nobody
  if (after === event.actorId) return [];
  if (event.type === 'message') return [after]; // rides on message.created
  // Without a stored message the wake rides on turn.updated, which is sent only on change.
  if (!changed) return [];
  const forced = event.type === 'ack' || event.type === 'force-proceed' || event.type === 'timeout';
  return after !== before || forced ? [after] : [];
}

// --- helpers -----------------------------------------------------------------------------

/** Activation (rules 3 and 4): a new round from idle or paused, when the order is non-empty. */
function activate(s: TurnState): void {
  if (s.order.length === 0) return;
  s.status = 'active';
  s.round += 1;
  s.spoken = [];
  s.passed = [];
}

/** Pause (rules 2 and 5): the round-robin stops because every speaker passed. */
function pause(s: TurnState): void {
  s.status = 'paused';
  s.spoken = [];
}

const everyoneInOrderPassed = (s: TurnState) => s.order.every((u) => s.passed.includes(u));
const inAnyQueue = (s: TurnState, u: string) => s.frames.some((f) => f.queue.includes(u));
const removeFromQueues = (s: TurnState, u: string) => s.frames.forEach((f) => (f.queue = without(f.queue, u)));

function topNonEmptyFrame(s: TurnState): TurnFrame | undefined {
  for (let i = s.frames.length - 1; i >= 0; i--) if (s.frames[i].queue.length > 0) return s.frames[i];
  return undefined;
}

/** Deduplicated lists; a user in both stays in `order` only. */
function normaliseLists(order: readonly string[], bypass: readonly string[]): { order: string[]; bypass: string[] } {
  const o = uniq(order);
  return { order: o, bypass: uniq(bypass).filter((u) => !o.includes(u)) };
}

/** An integer in [0, n), robust against a source that returns 1, negatives or NaN. */
function randomIndex(random: RandomSource, n: number): number {
  const x = random();
  const i = Math.floor((Number.isFinite(x) ? x : 0) * n);
  return Math.min(n - 1, Math.max(0, i));
}

const swap = (xs: string[], i: number, j: number) => ([xs[i], xs[j]] = [xs[j], xs[i]]);

function cloneState(s: TurnState): TurnState {
  const { status, round, order, bypass, spoken, passed, frames } = s;
  const queues = frames.map((f) => ({ by: f.by, queue: [...f.queue] }));
  return { status, round, order: [...order], bypass: [...bypass], spoken: [...spoken], passed: [...passed], frames: queues };
}

/** Deep equality of the state fields (key order of the input does not matter). */
function sameState(a: TurnState, b: TurnState): boolean {
  return JSON.stringify(cloneState(a)) === JSON.stringify(cloneState(b));
}

/** A small deterministic PRNG (mulberry32) for tests and simulations. */
export function seededRandom(seed: number): RandomSource {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}
