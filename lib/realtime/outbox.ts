import type { EmitMessage, Emitter, RealtimeOp } from './emitter.js';

/**
 * Collects what a write produced so it can be sent after the commit (events are never sent
 * before it). Filled inside the transaction, sent with `sendTo` once it committed.
 */
export class Outbox {
  private readonly emits: EmitMessage[] = [];
  private readonly roomChanges: RealtimeOp[] = [];

  push(...emits: EmitMessage[]): void {
    this.emits.push(...emits);
  }

  /** Queues an emit ahead of everything queued so far (a result known only after the transaction). */
  pushFirst(emit: EmitMessage): void {
    this.emits.unshift(emit);
  }

  /** Take the user's sockets out of the channel's rooms (after a removal). */
  leaveRoom(userId: string, channelId: string): void {
    this.roomChanges.push({ leave: { userId, channelId } });
  }

  /** Put the user's sockets into, or take them out of, a guild's room (guild membership changed). */
  guildRoom(userId: string, guildId: string, member: boolean): void {
    this.roomChanges.push({ guild: { userId, guildId, member } });
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
