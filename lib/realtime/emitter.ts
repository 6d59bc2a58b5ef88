import type { Wakes } from '../messages/wake.js';
import type { ChannelStreamEvent, EmitPayload, UserStreamEvent } from './events.js';
import type { EmitMessage, RealtimeOp } from './internal-schemas.js';

export type { EmitMessage, RealtimeOp } from './internal-schemas.js';

/** Most entries one internal call may carry (emits, or operations of a batch). */
export const MAX_ENTRIES_PER_CALL = 10000;
/** Largest body the internal channel reads; bigger calls are refused with 413. */
export const INTERNAL_BODY_LIMIT = 32 * 1024 * 1024;

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
    wakes ? { to: { channel: channelId }, event, data: wireData(data), wake: Object.keys(wakes), wakeReasons: wakes } : { to: { channel: channelId }, event, data: wireData(data) },
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
