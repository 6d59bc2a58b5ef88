import type { AppContext } from '../context.js';
import { lockChannel } from '../db/dialect.js';
import { inTransaction } from '../realtime/outbox.js';
import { deriveSpeaker } from './engine.js';
import { isDue, NO_CLOCK } from './speaker-clock.js';
import { applyTurnEvents, hasTurnEngine, loadTurnState, saveTurnState } from './turn-store.js';

/**
 * Fires the speaker timeouts whose deadline has passed (agent-rooms.md "Speaker timeout").
 * Run by the timer job under its lease; each firing is its own transaction under the channel
 * lock and checks the deadline again there, so a speaker that answered meanwhile (its clock
 * restarted) is never skipped and no deadline fires twice, whoever else runs this.
 */

/** Most deadlines handled by one pass; the rest wait for the next tick. */
const BATCH = 100;

/** Fires every due deadline (open channels only; a closed one fires once reopened). Returns how many fired. */
export async function fireDueSpeakerTimeouts(ctx: AppContext, now = Date.now()): Promise<number> {
  const due = await ctx.database.db
    .selectFrom('channel_turn_state as t')
    .innerJoin('channels as c', 'c.id', 't.channel_id')
    .select(['c.id', 'c.x_type'])
    .where('t.deadline', '<=', now)
    .where('c.closed', '=', 0)
    .orderBy('t.deadline')
    .limit(BATCH)
    .execute();
  let fired = 0;
  for (const channel of due) if (await fireSpeakerTimeout(ctx, channel, now)) fired++;
  return fired;
}

/** One channel's timeout: `/force-proceed` with no actor, if its deadline is still due under the lock. */
async function fireSpeakerTimeout(ctx: AppContext, channel: { id: string; x_type: string }, now: number): Promise<boolean> {
  if (!hasTurnEngine(channel.x_type)) return false;
  const { dialect } = ctx.database;
  // The turn.updated is logged with the change and handed over after the commit.
  return inTransaction(ctx, async (trx, outbox) => {
    if (!(await lockChannel(trx, dialect, channel.id))) return false;
    const stored = await loadTurnState(trx, channel.id, dialect);
    if (!isDue(stored.clock, now)) return false;
    const speakerId = deriveSpeaker(stored.state);
    if (speakerId === null) {
      await saveTurnState(trx, channel.id, stored.state, stored.updatedAt, NO_CLOCK); // a stale clock: nothing to skip
      return false;
    }
    await applyTurnEvents(trx, ctx, outbox, channel, [{ type: 'timeout', speakerId }], 'timeout');
    return true;
  });
}
