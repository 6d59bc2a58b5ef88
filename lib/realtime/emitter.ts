import { z } from 'zod';

/**
 * Event names socket.io reserves for itself: emitting one throws, so the realtime process
 * would stop partway through a batch. Refused where the emit is validated.
 */
const RESERVED_EVENT_NAMES = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/**
 * One emit, mirroring socket.io's `io.to(room).emit(event, data)`. `wake` present means the
 * event carries a per-recipient `wakeup` flag: true for the sockets of those users, false
 * for every other socket of the channel room (realtime.md).
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
});
export type EmitMessage = z.infer<typeof emitMessageSchema>;

export const emitBatchSchema = z.object({ emits: z.array(emitMessageSchema).max(10000) });
export const roomLeaveSchema = z.object({ userId: z.string().min(1), channelId: z.string().min(1) });
/** `POST /internal/rooms/guild`: a user's sockets join (member: true) or leave the guild's room. */
export const guildRoomSchema = z.object({ userId: z.string().min(1), guildId: z.string().min(1), member: z.boolean() });

/**
 * Where the API sends what a request produced, after commit. Two implementations: in-process
 * (all-in-one, realtime/local-emitter.ts) and HTTP to a realtime process (split mode,
 * lib/realtime/http-emitter.ts). `publish` never throws and never waits on the network.
 */
export interface Emitter {
  publish(emits: EmitMessage[]): void;
  /** Takes a removed member's sockets out of the channel room. */
  leaveRoom(userId: string, channelId: string): void;
  /** Puts a user's connected sockets into (or takes them out of) a guild's room, after a guild membership change. */
  guildRoom(userId: string, guildId: string, member: boolean): void;
  /** Resolves when everything queued so far was delivered or given up on (tests, shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** An emitter for a process with no realtime attached (a handler hosted alone without REALTIME_INTERNAL_URL). */
export function createNullEmitter(): Emitter {
  return { publish() {}, leaveRoom() {}, guildRoom() {}, flush: async () => {}, close: async () => {} };
}

/** Builders so that call sites never assemble emit addresses by hand. */
export const emitTo = {
  channel: (channelId: string, event: string, data: Record<string, unknown>, wake?: string[]): EmitMessage =>
    wake ? { to: { channel: channelId }, event, data, wake } : { to: { channel: channelId }, event, data },
  user: (userId: string, event: string, data: Record<string, unknown>): EmitMessage => ({ to: { user: userId }, event, data }),
  guild: (guildId: string, event: string, data: Record<string, unknown>): EmitMessage => ({ to: { guild: guildId }, event, data }),
};
