import type { AppContext } from '../context.js';
import { lockChannel, withTransaction } from '../db/dialect.js';
import { channelClosed } from '../errors.js';
import { Outbox } from '../realtime/outbox.js';
import { applyTurnEvents, hasTurnEngine, type Turn } from '../turns/turn-store.js';
import type { InterceptedCommand } from './message-rules.js';

/**
 * `/no-reply` and `/force-proceed` (api.md "Server-intercepted commands"): never stored, no
 * `message.created`. In discuss/work the turn engine applies them under the channel lock
 * (rules 2 and 3) and `turn.updated` follows when the state changed; elsewhere they are
 * accepted and dropped. Returns the turn after the command, or null without a turn engine.
 */
export async function applyInterceptedCommand(
  ctx: AppContext,
  channel: { id: string; x_type: string },
  actorId: string,
  command: InterceptedCommand,
): Promise<Turn | null> {
  if (!hasTurnEngine(channel.x_type)) return null;
  const { db, dialect } = ctx.database;
  const outbox = new Outbox();
  const applied = await withTransaction(db, dialect, async (trx) => {
    await lockChannel(trx, dialect, channel.id);
    // Re-read under the lock: a channel closed since the caller's check refuses the command too.
    const row = await trx.selectFrom('channels').select('closed').where('id', '=', channel.id).executeTakeFirst();
    if (!row || Number(row.closed)) throw channelClosed();
    return applyTurnEvents(trx, ctx, outbox, channel, [{ type: command, actorId }], command);
  });
  outbox.sendTo(ctx.emitter);
  return applied?.turn ?? null;
}
