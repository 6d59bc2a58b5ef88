import type { BroadcastOperator, DefaultEventsMap, Namespace } from 'socket.io';
import { emitterFromSend, type EmitMessage, type Emitter, type RealtimeOp } from '../lib/realtime/emitter.js';
import { rooms } from '../lib/realtime/rooms.js';
import { withFields } from '../lib/objects.js';

/** Where broadcasts go: a namespace (every process, with the Redis adapter) or `nsp.local` (this process). */
export interface Broadcaster {
  to(room: string | string[]): BroadcastOperator<DefaultEventsMap, unknown>;
}

/**
 * The payload one recipient gets: the event's data, its stream position, and for an emit with
 * `wake` the recipient's own `wakeup` and `wakeReason` (the one place that turns an emit into what a socket
 * receives, live or replayed). `userId` null: a socket of no user (a guild token).
 */
export function payloadFor(emit: EmitMessage, userId: string | null): Record<string, unknown> {
  if (emit.pos === undefined && !emit.wake) return emit.data;
  // One copy of the data, with what this recipient adds to it (a hot path: once per message and wave).
  const added: { pos?: number; wakeup?: boolean; wakeReason?: string | null } = emit.pos === undefined ? {} : { pos: emit.pos };
  if (emit.wake) {
    const woken = userId !== null && emit.wake.includes(userId);
    added.wakeup = woken;
    added.wakeReason = woken ? (emit.wakeReasons?.[userId!] ?? null) : null;
  }
  return withFields(emit.data, added);
}

/**
 * Sends emits to rooms. An emit with `wake` goes out as room broadcasts (realtime.md):
 * `wakeup: true` with its `wakeReason` to the woken users' per-channel rooms (one broadcast
 * per distinct reason), `wakeup: false, wakeReason: null` to the channel room except those
 * rooms — so it works unchanged across realtime processes (Redis adapter).
 */
export function dispatchEmits(nsp: Broadcaster, emits: readonly EmitMessage[]): void {
  for (const e of emits) {
    if ('channel' in e.to) {
      const channelId = e.to.channel;
      const channelRoom = rooms.channel(channelId);
      if (e.wake) {
        const byReason = new Map<string | null, string[]>();
        for (const u of e.wake) {
          const reason = e.wakeReasons?.[u] ?? null;
          // Appended in place: a copy per user made a general channel of 30,000 members hold the loop for seconds per message.
          const sameReason = byReason.get(reason);
          if (sameReason) sameReason.push(rooms.channelUser(channelId, u));
          else byReason.set(reason, [rooms.channelUser(channelId, u)]);
        }
        const unwoken = payloadFor(e, null);
        for (const [wakeReason, woken] of byReason) nsp.to(woken).emit(e.event, withFields(unwoken, { wakeup: true, wakeReason }));
        nsp
          .to(channelRoom)
          .except([...byReason.values()].flat())
          .emit(e.event, unwoken);
      } else {
        nsp.to(channelRoom).emit(e.event, payloadFor(e, null));
      }
    } else if ('user' in e.to) {
      // Every socket of a user room is that user's: its per-recipient `wakeup` is the user's own.
      nsp.to(rooms.user(e.to.user)).emit(e.event, payloadFor(e, e.to.user));
    } else {
      nsp.to(rooms.guild(e.to.guild)).emit(e.event, payloadFor(e, null));
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

/**
 * Delivers positioned emits to this process's sockets: a channel event with `leaveRooms` takes
 * those users' sockets here out of the channel's rooms before or after it. Every process does
 * it when the event reaches it, at the event's position in the stream, so nothing needs to
 * travel between processes and no later event can overtake it.
 */
export function deliverHere(nsp: Namespace, emit: EmitMessage): void {
  const leave = emit.leaveRooms;
  if (!leave || !('channel' in emit.to)) return dispatchEmits(nsp.local, [emit]);
  const channelId = emit.to.channel;
  if (!leave.afterEvent) leaveHere(nsp, leave.userIds, channelId);
  dispatchEmits(nsp.local, [emit]);
  if (leave.afterEvent) leaveHere(nsp, leave.userIds, channelId);
}

/**
 * Takes these users' sockets on this process out of a channel's rooms (a removed member, a
 * reader who lost access). Never through the adapter: another process applies it at its own
 * place in the stream, which a room change through Redis, applied on arrival, would overtake.
 */
export function leaveHere(nsp: Namespace, userIds: readonly string[], channelId: string): void {
  for (const userId of userIds) nsp.local.in(rooms.user(userId)).socketsLeave(rooms.ofChannelSubscriber(channelId, userId));
}

/** Puts every socket of a user into, or takes them out of, a guild's room. */
export function setGuildRoom(nsp: Namespace, userId: string, guildId: string, member: boolean): void {
  changeUserRooms(nsp, userId, [rooms.guild(guildId)], member);
}

/** What receives the operations of API requests: a realtime app (realtime/app.ts `apply`). */
export interface OpsSink {
  apply(ops: readonly RealtimeOp[]): void;
}

/** The all-in-one emitter: straight to the in-process realtime app, once it is attached. */
export function createLocalEmitter(getSink: () => OpsSink | undefined): Emitter {
  return emitterFromSend((ops) => getSink()?.apply(ops), { flush: async () => {}, close: async () => {} });
}
