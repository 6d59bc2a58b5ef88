import type { AppContext } from '../context.js';
import type { Db, DialectName } from '../db/index.js';
import { lockingRead } from '../db/dialect.js';
import { isoTime } from '../ids.js';
import { withFields } from '../objects.js';
import { emitTo } from '../realtime/emitter.js';
import type { Outbox } from '../realtime/outbox.js';
import { withoutAgents } from '../channels/loop-guard.js';
import type { WakeReason, Wakes } from '../messages/wake.js';
import { applyTurnEvent, deriveSpeaker, initialTurnState, type TurnChannelType, type TurnEvent, type TurnState } from './engine.js';
import { nextSpeakerClock, NO_CLOCK, withTimeout, type SpeakerClock } from './speaker-clock.js';

/**
 * Persistence of the turn engine: one `channel_turn_state` row per discuss/work channel,
 * read and written inside the caller's transaction, which already holds the channel's row
 * lock, so events are applied one at a time.
 */

export type TurnReason = 'message' | 'no-reply' | 'force-proceed' | 'ack' | 'membership' | 'order' | 'timeout';

export const hasTurnEngine = (xType: string): xType is TurnChannelType => xType === 'discuss' || xType === 'work';

/** The API shape of the turn state (api.md "Turn engine", agent-rooms.md "Speaker timeout"). */
export function toTurn(channelId: string, state: TurnState, updatedAt: number, clock: SpeakerClock = NO_CLOCK) {
  return {
    channelId,
    status: state.status,
    round: state.round,
    speakerId: deriveSpeaker(state),
    order: state.order,
    bypass: state.bypass,
    spoken: state.spoken,
    passed: state.passed,
    frames: state.frames,
    speakerSince: clock.speakerSince === null ? null : isoTime(clock.speakerSince),
    deadline: clock.deadline === null ? null : isoTime(clock.deadline),
    updatedAt: isoTime(updatedAt),
  };
}
export type Turn = ReturnType<typeof toTurn>;

/** Stores the initial state of a new discuss/work channel. */
export async function createTurnState(trx: Db, channelId: string, order: string[], bypass: string[], now: number): Promise<TurnState> {
  const state = initialTurnState(order, bypass);
  await trx
    .insertInto('channel_turn_state')
    .values({ channel_id: channelId, state: JSON.stringify(state), updated_at: now })
    .execute();
  return state;
}

export interface StoredTurn {
  state: TurnState;
  updatedAt: number;
  clock: SpeakerClock;
  /** The channel's settings the engine's callers need. */
  timeoutSeconds: number | null;
  loopTripped: boolean;
}

/**
 * The stored state of a channel (a missing row reads as an empty idle state). A writer passes
 * its `dialect` to read it with a locking read: the state it changes must be the latest one,
 * not the snapshot of an earlier read in its transaction.
 */
export async function loadTurnState(db: Db, channelId: string, writer?: DialectName): Promise<StoredTurn> {
  let q = db
    .selectFrom('channels as c')
    .leftJoin('channel_turn_state as t', 't.channel_id', 'c.id')
    .select(['t.state', 't.updated_at', 't.speaker_since', 't.deadline', 'c.turn_timeout_seconds', 'c.loop_tripped'])
    .where('c.id', '=', channelId);
  if (writer) q = q.$call(lockingRead(writer, 'update'));
  const row = await q.executeTakeFirst();
  const settings = { timeoutSeconds: nullableNumber(row?.turn_timeout_seconds), loopTripped: !!row?.loop_tripped };
  if (!row?.state) return { state: initialTurnState([], []), updatedAt: 0, clock: NO_CLOCK, ...settings };
  const clock = { speakerSince: nullableNumber(row.speaker_since), deadline: nullableNumber(row.deadline) };
  return { state: JSON.parse(row.state) as TurnState, updatedAt: Number(row.updated_at), clock, ...settings };
}

const nullableNumber = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** Writes a changed state and clock (upsert, so a channel created before the engine existed still works). */
export async function saveTurnState(trx: Db, channelId: string, state: TurnState, now: number, clock: SpeakerClock = NO_CLOCK): Promise<void> {
  const values = { state: JSON.stringify(state), updated_at: now, speaker_since: clock.speakerSince, deadline: clock.deadline };
  const r = await trx.updateTable('channel_turn_state').set(values).where('channel_id', '=', channelId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0)
    await trx
      .insertInto('channel_turn_state')
      .values({ channel_id: channelId, ...values })
      .execute();
}

export interface TurnApplied {
  turn: Turn;
  changed: boolean;
  /** Users woken by this change, and why (on `turn.updated`, or on `message.created` for reason `message`). */
  wakes: Wakes;
}

/**
 * Applies events in order to the stored state, saves it (and the speaker's clock) when it
 * changed and queues `turn.updated` with per-recipient wakeup (none for reason `message`:
 * that wake rides on `message.created`). While the channel's loop guard is tripped, agents
 * are not woken. Caller holds the channel row lock inside a transaction.
 */
export async function applyTurnEvents(
  trx: Db,
  ctx: AppContext,
  outbox: Outbox,
  channel: { id: string; x_type: string },
  events: readonly TurnEvent[],
  reason: TurnReason,
): Promise<TurnApplied | null> {
  if (!hasTurnEngine(channel.x_type) || events.length === 0) return null;
  const stored = await loadTurnState(trx, channel.id, ctx.database.dialect);
  const { state: before, updatedAt } = stored;
  const now = Date.now();
  let state = before;
  let clock = stored.clock;
  let changed = false;
  let wake: string[] = [];
  let wakeReason: WakeReason | null = null;
  for (const event of events) {
    const r = applyTurnEvent(state, event, channel.x_type, ctx.random);
    clock = nextSpeakerClock(clock, event, deriveSpeaker(state), r.speakerId, r.changed, stored.timeoutSeconds, now);
    state = r.state;
    changed ||= r.changed;
    // Kept even when unchanged: a stored message wakes the speaker whether or not the turn moved.
    wake = r.wake;
    wakeReason = r.wakeReason;
  }
  // Several membership events in one request: wake the final speaker if it is new and not an actor.
  if (events.length > 1) {
    const speaker = deriveSpeaker(state);
    const actors = events.map((e) => e.actorId);
    wake = changed && speaker !== null && speaker !== deriveSpeaker(before) && !actors.includes(speaker) ? [speaker] : [];
    wakeReason = wake.length > 0 ? (state.frames.length > 0 ? 'frame' : 'speaker') : null;
  }
  let wakes: Wakes = wakeReason === null ? {} : Object.fromEntries(wake.map((u) => [u, wakeReason]));
  if (stored.loopTripped) wakes = await withoutAgents(trx, channel.id, wakes);
  const clockMoved = clock.speakerSince !== stored.clock.speakerSince || clock.deadline !== stored.clock.deadline;
  const at = changed ? now : updatedAt;
  if (changed || clockMoved) await saveTurnState(trx, channel.id, state, at, clock);
  if (changed) {
    const turn = toTurn(channel.id, state, at, clock);
    outbox.push(emitTo.channel(channel.id, 'turn.updated', withFields(turn, { reason }), reason === 'message' ? {} : wakes));
  }
  return { turn: toTurn(channel.id, state, at, clock), changed, wakes };
}

/** A changed speaker timeout: the current speaker's clock restarts from `now` under the new timeout. Caller holds the lock. */
export async function rearmSpeakerClock(trx: Db, dialect: DialectName, channelId: string, timeoutSeconds: number | null, now: number): Promise<void> {
  const { state, updatedAt } = await loadTurnState(trx, channelId, dialect);
  const clock = deriveSpeaker(state) === null ? NO_CLOCK : withTimeout(now, timeoutSeconds);
  await saveTurnState(trx, channelId, state, updatedAt, clock);
}

/** Membership hook (rule 5): joins and leaves of a discuss/work channel. */
export function applyTurnMembership(trx: Db, ctx: AppContext, outbox: Outbox, channel: { id: string; x_type: string }, events: TurnEvent[]) {
  return applyTurnEvents(trx, ctx, outbox, channel, events, 'membership');
}
