import type { ServerOptions } from 'socket.io';

/**
 * What a realtime process shares with the other realtime processes of its node (split mode
 * with FABRIC_BACKEND_GUILD_REDIS_URL). Without one, a realtime process knows only itself.
 */
export interface ClusterLink {
  /** The socket.io adapter that shares rooms and broadcasts between the processes. */
  adapter: ServerOptions['adapter'];
  close(): Promise<void>;
}
