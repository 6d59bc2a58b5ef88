/**
 * The wire format of the internal channel (split mode: an API process's emits and room changes
 * to the realtime process), as the realtime process validates it (realtime/internal-channel.ts).
 * Apart from lib/realtime/emitter.ts so that a process that only sends (a handler bundle) does
 * not load the schemas.
 */
import { z } from 'zod';
import { WAKE_REASONS } from '../messages/wake.js';
import { MAX_ENTRIES_PER_CALL } from './emitter.js';

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
const emitMessageFields = z.object({
  to: z.union([z.object({ channel: z.string().min(1) }).strict(), z.object({ user: z.string().min(1) }).strict(), z.object({ guild: z.string().min(1) }).strict()]),
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
  /**
   * A channel emit at which the sockets of these users leave the channel's rooms: before it (a
   * removed member gets nothing of the channel after its removal) or after it (readers of a
   * channel gone private still get that `channel.updated`). Logged with the event, so every
   * realtime process applies it at the event's position in the stream, whatever path the event took.
   */
  leaveRooms: z
    .object({ userIds: z.array(z.string().min(1).max(128)).max(100_000), afterEvent: z.boolean() })
    .strict()
    .optional(),
  /** The REST request that caused the emit (its `x-request-id`), for the realtime process's log lines. */
  requestId: z.string().max(128).optional(),
});
// Only channel and user rooms have a stream: a position on a guild emit could never be delivered in order.
export const emitMessageSchema = emitMessageFields.refine((e) => e.pos === undefined || !('guild' in e.to), { message: 'pos is only for channel and user emits', path: ['pos'] });
export type EmitMessage = z.infer<typeof emitMessageSchema>;

export const emitBatchSchema = z.object({ emits: z.array(emitMessageSchema).max(MAX_ENTRIES_PER_CALL) });
/**
 * `POST /internal/rooms/leave`: a user's sockets leave a channel's rooms. With `pos` (the
 * channel stream's position when the access was lost), every realtime process first delivers
 * the stream up to it; without, it leaves after what the receiving process has queued.
 */
export const roomLeaveSchema = z.object({ userId: z.string().min(1), channelId: z.string().min(1), pos: z.number().int().min(0).optional() });
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
