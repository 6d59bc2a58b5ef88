import type { EmitMessage, Emitter } from './emitter.js';

/**
 * Collects what a write produced so it can be sent after the commit (events are never sent
 * before it). Filled inside the transaction, sent with `sendTo` once it committed.
 */
export class Outbox {
  private readonly emits: EmitMessage[] = [];
  private readonly leaves: { userId: string; channelId: string }[] = [];
  private readonly guildRooms: { userId: string; guildId: string; member: boolean }[] = [];

  push(...emits: EmitMessage[]): void {
    this.emits.push(...emits);
  }

  /** Take the user's sockets out of the channel's rooms (after a removal). */
  leaveRoom(userId: string, channelId: string): void {
    this.leaves.push({ userId, channelId });
  }

  /** Put the user's sockets into, or take them out of, a guild's room (guild membership changed). */
  guildRoom(userId: string, guildId: string, member: boolean): void {
    this.guildRooms.push({ userId, guildId, member });
  }

  /** Sends everything collected, as one batch. Call after commit. */
  sendTo(emitter: Emitter): void {
    emitter.publish(this.emits);
    for (const l of this.leaves) emitter.leaveRoom(l.userId, l.channelId);
    for (const g of this.guildRooms) emitter.guildRoom(g.userId, g.guildId, g.member);
  }
}
