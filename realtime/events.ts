import type { EmitMessage } from '../lib/realtime/emitter.js';

/**
 * The realtime process's event types: the public map lives in lib/realtime/events.ts (shared
 * with lib/ and the client SDK); what travels only between realtime processes is here.
 */
export type * from '../lib/realtime/events.js';

/** Between realtime processes of one node (socket.io's serverSideEmit, through the Redis adapter). */
export interface InterServerEvents {
  /** How many sockets of this user the answering process holds. */
  user_socket_count: (userId: string, reply: (count: number) => void) => void;
  /** Which of these users hold at least one socket on the answering process. */
  users_online: (userIds: string[], reply: (online: string[]) => void) => void;
  /** Positioned emits one process received from an API process, for the others' sockets (realtime/stream-delivery.ts). */
  stream_emits: (emits: EmitMessage[]) => void;
  /**
   * Room leaves of readers who lost access, each at the channel stream's position where the
   * process that received it applied it: the others apply it at the same position of their own delivery.
   */
  stream_leaves: (leaves: PositionedLeave[]) => void;
}

/** A user's sockets leave a channel's rooms once the stream is delivered up to `pos` (all it has queued, without). */
export interface PositionedLeave {
  userId: string;
  channelId: string;
  pos?: number;
}
