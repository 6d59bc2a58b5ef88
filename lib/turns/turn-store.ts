import type { AppContext } from '../context.js';
import type { Db, DialectName } from '../db/index.js';
import { lockingRead } from '../db/dialect.js';
import { isoTime } from '../ids.js';
import { emitTo } from '../realtime/emitter.js';
import type { Outbox } from '../realtime/outbox.js';
import { applyTurnEvent, deriveSpeaker, initialTurnState, type TurnChannelType, type TurnEvent, type TurnState } from './engine.js';

/**
 * Persistence of the turn engine: one `channel_turn_state` row per discuss/work channel,
 * read and written inside the caller's transaction, which already holds the channel's row
 * lock, so events are applied one at a time.
 */

export type TurnReason = 'message' | 'no-reply' | 'force-proceed' | 'ack' | 'membership' | 'order';

export const hasTurnEngine = (xType: string): xType is TurnChannelType => xType === 'discuss' || xType === 'work';

/** The API shape of the turn state (api.md "Turn engine"). */
export function toTurn(channelId: string, state: TurnState, updatedAt: number) {
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
    updatedAt: isoTime(updatedAt),
  };
}
export type Turn = ReturnType<typeof toTurn>;

/** Stores the initial state of a new discuss/work channel. */
export async function createTurnState(trx: Db, channelId: string, order: string[], bypass: string[], now: number): Promise<TurnState> {
  const state = initialTurnState(order, bypass);
  await trx.insertInto('channel_turn_state').values({ channel_id: channelId, state: JSON.stringify(state), updated_at: now }).execute();
  return state;
}

/**
 * The stored state of a channel (a missing row reads as an empty idle state). A writer passes
 * its `dialect` to read it with a locking read: the state it changes must be the latest one,
 * not the snapshot of an earlier read in its transaction.
 */
export async function loadTurnState(db: Db, channelId: string, writer?: DialectName): Promise<{ state: TurnState; updatedAt: number }> {
  let q = db.selectFrom('channel_turn_state').select(['state', 'updated_at']).where('channel_id', '=', channelId);
  if (writer) q = q.$call(lockingRead(writer, 'update'));
  const row = await q.executeTakeFirst();
  if (!row) return { state: initialTurnState([], []), updatedAt: 0 };
  return { state: JSON.parse(row.state) as TurnState, updatedAt: Number(row.updated_at) };
}

/** Writes a changed state (upsert, so a channel created before the engine existed still works). */
export async function saveTurnState(trx: Db, channelId: string, state: TurnState, now: number): Promise<void> {
  const r = await trx.updateTable('channel_turn_state').set({ state: JSON.stringify(state), updated_at: now }).where('channel_id', '=', channelId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) {
    await trx.insertInto('channel_turn_state').values({ channel_id: channelId, state: JSON.stringify(state), updated_at: now }).execute();
  }
}

export interface TurnApplied {
  turn: Turn;
  changed: boolean;
  /** Users woken by this change (on `turn.updated`, or on `message.created` for reason `message`). */
  wake: string[];
}

/**
 * Applies events in order to the stored state, saves it when it changed and queues
 * `turn.updated` with per-recipient wakeup (none for reason `message`: that wake rides on
 * `message.created`). Caller holds the channel row lock inside a transaction.
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
  const { state: before, updatedAt } = await loadTurnState(trx, channel.id, ctx.database.dialect);
  let state = before;
  let changed = false;
  let wake: string[] = [];
  for (const event of events) {
    const r = applyTurnEvent(state, event, channel.x_type, ctx.random);
    state = r.state;
    changed ||= r.changed;
    // Kept even when unchanged: a stored message wakes the speaker whether or not the turn moved.
    wake = r.wake;
  }
  // Several membership events in one request: wake the final speaker if it is new and not an actor.
  if (events.length > 1) {
    const speaker = deriveSpeaker(state);
    const actors = events.map((e) => e.actorId);
    wake = changed && speaker !== null && speaker !== deriveSpeaker(before) && !actors.includes(speaker) ? [speaker] : [];
  }
  const now = changed ? Date.now() : updatedAt;
  if (changed) {
    await saveTurnState(trx, channel.id, state, now);
    const turn = toTurn(channel.id, state, now);
    outbox.push(emitTo.channel(channel.id, 'turn.updated', { ...turn, reason }, reason === 'message' ? [] : wake));
  }
  return { turn: toTurn(channel.id, state, now), changed, wake };
}

/** Membership hook (rule 5): joins and leaves of a discuss/work channel. */
export function applyTurnMembership(trx: Db, ctx: AppContext, outbox: Outbox, channel: { id: string; x_type: string }, events: TurnEvent[]) {
  return applyTurnEvents(trx, ctx, outbox, channel, events, 'membership');
}
