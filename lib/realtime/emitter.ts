import { z } from 'zod';
import { WAKE_REASONS, type Wakes } from '../messages/wake.js';
import type { ChannelStreamEvent, EmitPayload, UserStreamEvent } from './events.js';

/**
 * Event names socket.io reserves for itself: emitting one throws, so the realtime process
 * would stop partway through a batch. Refused where the emit is validated.
 */
const RESERVED_EVENT_NAMES = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/**
 * One emit, mirroring socket.io's `io.to(room).emit(event, data)`. `wake` present means the
 * event carries a per-recipient `wakeup` flag: true for the sockets of those users, false
 * for every other socket of the channel room (realtime.md), and a `wakeReason`: the user's
 * entry of `wakeReasons` for the woken, null for the rest (agent-rooms.md).
 */
export const emitMessageSchema = z.object({
  to: z.union([
    z.object({ channel: z.string().min(1) }).strict(),
    z.object({ user: z.string().min(1) }).strict(),
    z.object({ guild: z.string().min(1) }).strict(),
  ]),
  event: z
    .string()
    .min(1)
    .max(64)
    .refine((name) => !RESERVED_EVENT_NAMES.has(name), 'reserved socket.io event name'),
  data: z.record(z.string(), z.unknown()),
  wake: z.array(z.string().min(1)).optional(),
  /** The event's position in its stream (channel and user rooms; realtime.md "Streams, positions and resume"). */
  pos: z.number().int().positive().optional(),
  wakeReasons: z.record(z.string(), z.enum(WAKE_REASONS)).optional(),
  /** The REST request that caused the emit (its `x-request-id`), for the realtime process's log lines. */
  requestId: z.string().max(128).optional(),
});
export type EmitMessage = z.infer<typeof emitMessageSchema>;

/** Most entries one internal call may carry (emits, or operations of a batch). */
export const MAX_ENTRIES_PER_CALL = 10000;
/** Largest body the internal channel reads; bigger calls are refused with 413. */
export const INTERNAL_BODY_LIMIT = 32 * 1024 * 1024;

export const emitBatchSchema = z.object({ emits: z.array(emitMessageSchema).max(MAX_ENTRIES_PER_CALL) });
export const roomLeaveSchema = z.object({ userId: z.string().min(1), channelId: z.string().min(1) });
/** `POST /internal/rooms/guild`: a user's sockets join (member: true) or leave the guild's room. */
export const guildRoomSchema = z.object({ userId: z.string().min(1), guildId: z.string().min(1), member: z.boolean() });

/**
 * One step of what an API request produced: an emit, or a room change (the bodies of
 * `/internal/emit`'s entries, `/internal/rooms/leave` and `/internal/rooms/guild`).
 */
export const realtimeOpSchema = z.union([
  z.object({ emit: emitMessageSchema }).strict(),
  z.object({ leave: roomLeaveSchema }).strict(),
  z.object({ guild: guildRoomSchema }).strict(),
]);
export type RealtimeOp = z.infer<typeof realtimeOpSchema>;
/** `POST /internal/batch`: emits and room changes, applied in this order. */
export const opBatchSchema = z.object({ ops: z.array(realtimeOpSchema).max(MAX_ENTRIES_PER_CALL) });

/**
 * Where the API sends what a request produced, after commit. Two implementations: in-process
 * (all-in-one, realtime/dispatch.ts) and HTTP to a realtime process (split mode,
 * lib/realtime/http-emitter.ts). Nothing here throws or waits on the network.
 */
export interface Emitter {
  /** Emits and room changes of one request, to be applied in this order. */
  send(ops: RealtimeOp[]): void;
  publish(emits: EmitMessage[]): void;
  /** Puts a user's connected sockets into (or takes them out of) a guild's room, after a guild membership change. */
  guildRoom(userId: string, guildId: string, member: boolean): void;
  /** Resolves when everything queued so far was delivered or given up on (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** An Emitter from its `send` alone: the other two are single-kind batches. */
export function emitterFromSend(send: (ops: RealtimeOp[]) => void, rest: Pick<Emitter, 'flush' | 'close'>): Emitter {
  return {
    send,
    publish: (emits) => send(emits.map((emit) => ({ emit }))),
    guildRoom: (userId, guildId, member) => send([{ guild: { userId, guildId, member } }]),
    ...rest,
  };
}

/** An emitter for a process with no realtime attached (a handler hosted alone without REALTIME_INTERNAL_URL). */
export function createNullEmitter(): Emitter {
  return emitterFromSend(() => {}, { flush: async () => {}, close: async () => {} });
}

/**
 * Builders so that call sites never assemble emit addresses by hand, typed by the event map:
 * each event goes to its stream's room with its exact payload (the fields added at delivery,
 * `pos`, `replayed`, `wakeup` and `wakeReason`, are not the caller's).
 */
export const emitTo = {
  /** With `wakes`, every socket of the room gets `wakeup` and `wakeReason` (an empty object wakes nobody). */
  channel: <E extends ChannelStreamEvent>(channelId: string, event: E, data: EmitPayload<E>, wakes?: Wakes): EmitMessage =>
    wakes
      ? { to: { channel: channelId }, event, data: wireData(data), wake: Object.keys(wakes), wakeReasons: wakes }
      : { to: { channel: channelId }, event, data: wireData(data) },
  user: <E extends UserStreamEvent>(userId: string, event: E, data: EmitPayload<E>): EmitMessage => ({
    to: { user: userId },
    event,
    data: wireData(data),
  }),
  guild: <E extends 'presence'>(guildId: string, event: E, data: EmitPayload<E>): EmitMessage => ({
    to: { guild: guildId },
    event,
    data: wireData(data),
  }),
};

/** A payload as the wire message's JSON object (every payload of the map is one). */
const wireData = (data: object): Record<string, unknown> => ({ ...data });
