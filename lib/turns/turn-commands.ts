import type { Principal } from '../center/client.js';
import type { AppContext } from '../context.js';
import type { Db } from '../db/index.js';
import { lockChannel } from '../db/dialect.js';
import { badRequest, invalidReference, notFound, wrongChannelType } from '../errors.js';
import type { ChannelRow, ChannelView } from '../guilds/standing.js';
import { inTransaction } from '../realtime/outbox.js';
import type { TurnChannelType, TurnEvent, TurnState } from './engine.js';
import { applyTurnEvents, hasTurnEngine, loadTurnState, toTurn, type Turn, type TurnReason } from './turn-store.js';

/**
 * The turn endpoints' domain (api.md "Turn engine"): read the turn, replace the lists, move
 * one user between them, guild ack. Every write runs under the channel row lock, checks the
 * request against the state it is about to change, and goes through `applyTurnEvents` so
 * that `turn.updated` is queued only when the state changed and sent after commit.
 */

type TurnChannel = Pick<ChannelRow, 'id' | 'x_type'> & { x_type: TurnChannelType };

/** The channel, if it runs the turn engine; else 400 wrong_channel_type. */
export function requireTurnChannel<C extends Pick<ChannelRow, 'id' | 'x_type'>>(channel: C): C & TurnChannel {
  if (!hasTurnEngine(channel.x_type)) throw wrongChannelType('the turn engine runs in discuss and work channels only');
  return channel as C & TurnChannel;
}

/** The user id acting, or undefined for the guild token (which never speaks, so never needs sparing from a wake). */
export const turnActorOf = (principal: Principal): string | undefined => (principal.kind === 'user' ? principal.userId : undefined);

/** moveToBypass/moveToOrder: the channel's admins for anyone, a channel member for itself (undefined `userId`: for someone). */
export function mayMoveTurnUser(view: Pick<ChannelView, 'canAdmin' | 'isMember'>, principal: Principal, userId?: string): boolean {
  if (view.canAdmin) return true;
  return view.isMember && principal.kind === 'user' && (userId === undefined || principal.userId === userId);
}

/** The current turn of a discuss/work channel. */
export async function getTurn(db: Db, channel: TurnChannel): Promise<Turn> {
  const { state, updatedAt, clock } = await loadTurnState(db, channel.id);
  return toTurn(channel.id, state, updatedAt, clock);
}

/**
 * Applies one event built from the locked state; `check` may throw a 4xx, which rolls the
 * transaction back with nothing written.
 */
async function runTurnCommand(ctx: AppContext, channel: TurnChannel, reason: TurnReason, build: (trx: Db, state: TurnState) => Promise<TurnEvent> | TurnEvent): Promise<Turn> {
  const { dialect } = ctx.database;
  const applied = await inTransaction(ctx, async (trx, outbox) => {
    if (!(await lockChannel(trx, dialect, channel.id))) throw notFound('channel');
    const { state } = await loadTurnState(trx, channel.id, dialect);
    const event = await build(trx, state);
    return applyTurnEvents(trx, ctx, outbox, channel, [event], reason);
  });
  // applyTurnEvents answers null only for channels without the engine, excluded by TurnChannel.
  if (!applied) throw wrongChannelType();
  return applied.turn;
}

/** PUT turn: replaces `order` and `bypass` (already validated as disjoint and duplicate-free); every id must be a channel member. */
export function setTurnLists(ctx: AppContext, channel: TurnChannel, actorId: string | undefined, order: string[], bypass: string[]) {
  return runTurnCommand(ctx, channel, 'order', async (trx) => {
    await requireChannelMembers(trx, channel.id, [...order, ...bypass]);
    return { type: 'set-lists', order, bypass, actorId };
  });
}

/** moveToBypass (`to: 'bypass'`) or moveToOrder (`to: 'order'`); 400 bad_request unless the user is in the list it leaves. */
export function moveTurnUser(ctx: AppContext, channel: TurnChannel, actorId: string | undefined, userId: string, to: 'bypass' | 'order') {
  return runTurnCommand(ctx, channel, 'order', (_trx, state) => {
    const from = to === 'bypass' ? 'order' : 'bypass';
    if (!state[from].includes(userId)) {
      throw badRequest(`the user is not in ${from}`, [{ field: 'userId', message: `not in ${from}` }]);
    }
    return to === 'bypass' ? { type: 'move-to-bypass', userId, actorId } : { type: 'move-to-order', userId, actorId };
  });
}

/** Guild ack: a new round when idle or paused (with a non-empty order); nothing while active. */
export function ackTurn(ctx: AppContext, channel: TurnChannel, actorId: string | undefined) {
  return runTurnCommand(ctx, channel, 'ack', () => ({ type: 'ack', actorId }));
}

/** 400 invalid_reference unless every id is a member of the channel (read under the lock). */
async function requireChannelMembers(trx: Db, channelId: string, userIds: readonly string[]): Promise<void> {
  const ids = [...new Set(userIds)];
  if (ids.length === 0) return;
  const rows = await trx.selectFrom('channel_members').select('user_id').where('channel_id', '=', channelId).where('user_id', 'in', ids).execute();
  const found = new Set(rows.map((r) => r.user_id));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw invalidReference('these users are not members of the channel', { userIds: missing });
}
