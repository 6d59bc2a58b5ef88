import type { AppContext } from '../context.js';
import { lockOpenChannelForMember } from '../db/dialect.js';
import { inTransaction } from '../realtime/outbox.js';
import { applyTurnEvents, hasTurnEngine, type Turn } from '../turns/turn-store.js';
import type { InterceptedCommand } from './message-rules.js';

/**
 * `/no-reply` and `/force-proceed` (api.md "Server-intercepted commands"): never stored, no
 * `message.created`. In discuss/work the turn engine applies them under the channel lock
 * (rules 2 and 3) and `turn.updated` follows when the state changed; elsewhere they are
 * accepted and dropped (`turn: null`). Null when refused under the lock: the actor was
 * removed, or the channel closed, since the caller's check — the caller reads the channel to
 * say which.
 */
export async function applyInterceptedCommand(
  ctx: AppContext,
  channel: { id: string; x_type: string },
  actorId: string,
  command: InterceptedCommand,
): Promise<{ intercepted: InterceptedCommand; turn: Turn | null } | null> {
  if (!hasTurnEngine(channel.x_type)) return { intercepted: command, turn: null };
  const { dialect } = ctx.database;
  const applied = await inTransaction(ctx, async (trx, outbox) => {
    if (!(await lockOpenChannelForMember(trx, dialect, channel.id, actorId))) return null;
    return applyTurnEvents(trx, ctx, outbox, channel, [{ type: command, actorId }], command);
  });
  if (!applied) return null;
  return { intercepted: command, turn: applied.turn };
}
