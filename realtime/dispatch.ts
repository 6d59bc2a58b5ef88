import type { Namespace } from 'socket.io';
import { emitterFromSend, type EmitMessage, type Emitter, type RealtimeOp } from '../lib/realtime/emitter.js';
import { rooms } from '../lib/realtime/rooms.js';

/**
 * Sends emits to rooms. An emit with `wake` goes out as room broadcasts (realtime.md):
 * `wakeup: true` with its `wakeReason` to the woken users' per-channel rooms (one broadcast
 * per distinct reason), `wakeup: false, wakeReason: null` to the channel room except those
 * rooms — so it works unchanged across realtime processes (Redis adapter).
 */
export function dispatchEmits(nsp: Namespace, emits: readonly EmitMessage[]): void {
  for (const e of emits) {
    if ('channel' in e.to) {
      const channelId = e.to.channel;
      const channelRoom = rooms.channel(channelId);
      if (e.wake) {
        const byReason = new Map<string | null, string[]>();
        for (const u of e.wake) {
          const reason = e.wakeReasons?.[u] ?? null;
          byReason.set(reason, [...(byReason.get(reason) ?? []), rooms.channelUser(channelId, u)]);
        }
        for (const [wakeReason, woken] of byReason) nsp.to(woken).emit(e.event, { ...e.data, wakeup: true, wakeReason });
        const wokenRooms = [...byReason.values()].flat();
        nsp.to(channelRoom).except(wokenRooms).emit(e.event, { ...e.data, wakeup: false, wakeReason: null });
      } else {
        nsp.to(channelRoom).emit(e.event, e.data);
      }
    } else if ('user' in e.to) {
      nsp.to(rooms.user(e.to.user)).emit(e.event, e.data);
    } else {
      nsp.to(rooms.guild(e.to.guild)).emit(e.event, e.data);
    }
  }
}

/**
 * Makes every socket of a user join or leave `targets`. This process's sockets first, at
 * once: with the Redis adapter a cluster-wide room change is only a request published to
 * Redis, applied here when it comes back, so an emit broadcast right after it would still
 * reach a removed member's socket. Then on every process (other processes receive the request
 * before any later broadcast of ours, both travelling through Redis in publish order; applying
 * it here again when it comes back changes nothing).
 */
function changeUserRooms(nsp: Namespace, userId: string, targets: string[], join: boolean): void {
  for (const scope of [nsp.local.in(rooms.user(userId)), nsp.in(rooms.user(userId))]) {
    if (join) scope.socketsJoin(targets);
    else scope.socketsLeave(targets);
  }
}

/** Takes every socket of a user out of a channel's rooms (after a removal). */
export function leaveChannelRooms(nsp: Namespace, userId: string, channelId: string): void {
  changeUserRooms(nsp, userId, [rooms.channel(channelId), rooms.channelUser(channelId, userId)], false);
}

/** Puts every socket of a user into, or takes them out of, a guild's room. */
export function setGuildRoom(nsp: Namespace, userId: string, guildId: string, member: boolean): void {
  changeUserRooms(nsp, userId, [rooms.guild(guildId)], member);
}

/** Applies emits and room changes in their order. */
export function applyOps(nsp: Namespace, ops: readonly RealtimeOp[]): void {
  for (const op of ops) {
    if ('emit' in op) dispatchEmits(nsp, [op.emit]);
    else if ('leave' in op) leaveChannelRooms(nsp, op.leave.userId, op.leave.channelId);
    else setGuildRoom(nsp, op.guild.userId, op.guild.guildId, op.guild.member);
  }
}

/** The all-in-one emitter: straight to the in-process socket.io namespace, once it is attached. */
export function createLocalEmitter(getNamespace: () => Namespace | undefined): Emitter {
  return emitterFromSend(
    (ops) => {
      const nsp = getNamespace();
      if (nsp) applyOps(nsp, ops);
    },
    { flush: async () => {}, close: async () => {} },
  );
}
