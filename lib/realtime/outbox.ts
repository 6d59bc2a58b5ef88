import type { AppContext } from '../context.js';
import type { Db, DialectName } from '../db/index.js';
import { withDeadlockRetry, withTransaction } from '../db/dialect.js';
import type { EmitMessage, Emitter, RealtimeOp } from './emitter.js';
import { appendToLog, streamHeads, streamKey } from './event-log.js';

/**
 * Collects what a write produced so it can be sent after the commit (events are never sent
 * before it). Filled inside the transaction, written to the event log by `logIn` before the
 * commit, sent with `sendTo` once it committed. `inTransaction` does all three.
 */
export class Outbox {
  private emits: EmitMessage[] = [];
  private readonly roomChanges: RealtimeOp[] = [];

  push(...emits: EmitMessage[]): void {
    this.emits.push(...emits);
  }

  /** Queues emits ahead of those already queued (an event that happened first, known last). */
  pushFirst(...emits: EmitMessage[]): void {
    this.emits.unshift(...emits);
  }

  /** Emits to `channelId` queued so far (their positions follow the stream's last one, in this order). */
  queuedFor(channelId: string): number {
    return this.emits.filter((e) => 'channel' in e.to && e.to.channel === channelId).length;
  }

  /**
   * Take the user's sockets out of the channel's rooms once every event committed before is
   * out (a reader who is no member, e.g. a demoted admin): `logIn` gives the leave the channel's
   * position as of this transaction, and every realtime process applies it there. A member's
   * removal rides on its own channel event instead (`leaveRooms`), applied in stream order.
   */
  leaveRoom(userId: string, channelId: string): void {
    this.roomChanges.push({ leave: { userId, channelId } });
  }

  /** Put the user's sockets into, or take them out of, a guild's room (guild membership changed). */
  guildRoom(userId: string, guildId: string, member: boolean): void {
    this.roomChanges.push({ guild: { userId, guildId, member } });
  }

  /**
   * Writes the stream events collected so far to the event log, inside `trx`, and gives each
   * room leave the position of its channel's stream (call last, before commit).
   */
  async logIn(trx: Db, dialect: DialectName): Promise<void> {
    this.emits = await appendToLog(trx, dialect, this.emits);
    const leaves = this.roomChanges.flatMap((op) => ('leave' in op ? [op.leave] : []));
    if (leaves.length === 0) return;
    const heads = await streamHeads(
      trx,
      leaves.map((l) => ({ channel: l.channelId })),
    );
    for (const l of leaves) l.pos = heads.get(streamKey({ channel: l.channelId })) ?? 0;
  }

  /**
   * Sends everything collected as one batch, the emits first and then the room changes
   * (a removed member still gets its own `channel.left`, a reader the last `channel.updated`).
   * Call after commit.
   */
  sendTo(emitter: Emitter): void {
    const ops: RealtimeOp[] = this.emits.map((emit) => ({ emit }));
    emitter.send(ops.concat(this.roomChanges));
  }
}

/**
 * The one shape of a write that produces events: `fn` runs in a transaction with a fresh
 * outbox, whose events are logged in that same transaction and sent after its commit. With
 * `deadlockRetry`, a deadlock victim runs again from the start (with a new outbox).
 */
export async function inTransaction<T>(ctx: AppContext, fn: (trx: Db, outbox: Outbox) => Promise<T>, opts: { deadlockRetry?: boolean } = {}): Promise<T> {
  const { db, dialect } = ctx.database;
  let outbox = new Outbox();
  const run = async (trx: Db) => {
    outbox = new Outbox();
    const result = await fn(trx, outbox);
    await outbox.logIn(trx, dialect);
    return result;
  };
  const result = await (opts.deadlockRetry ? withDeadlockRetry(db, dialect, run) : withTransaction(db, dialect, run));
  outbox.sendTo(ctx.emitter);
  return result;
}
