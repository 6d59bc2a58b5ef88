/**
 * The realtime process's event types: the public map lives in lib/realtime/events.ts (shared
 * with lib/ and the client SDK); what travels only between realtime processes is here.
 */
export type * from '../lib/realtime/events.js';

/** Between realtime processes of one node (socket.io's serverSideEmit, through the Redis adapter). */
export interface InterServerEvents {
  /** How many sockets of this user the answering process holds. */
  user_socket_count: (userId: string, reply: (count: number) => void) => void;
}
