/**
 * The typed event map of realtime.md: every server→client and client→server event with its
 * payload. The server, the emit builders and the tests use these types.
 */
export interface AckOk { ok: true }
export interface AckError { ok: false; error: { code: string; message: string } }
export type Ack = AckOk | AckError;

export interface ChannelMembershipEvent { channelId: string; userId: string; xType: string; occurredAt: string }

export interface ServerToClientEvents {
  'message.created': (m: Record<string, unknown> & { wakeup: boolean }) => void;
  'message.updated': (m: Record<string, unknown>) => void;
  'message.deleted': (m: { id: string; channelId: string; seq: number; deletedAt: string }) => void;
  'turn.updated': (t: Record<string, unknown> & { reason: string; wakeup: boolean }) => void;
  'canvas.updated': (e: { channelId: string; canvas: Record<string, unknown> }) => void;
  'canvas.removed': (e: { channelId: string }) => void;
  'channel.updated': (e: { channel: Record<string, unknown> }) => void;
  'channel.joined': (e: ChannelMembershipEvent) => void;
  'channel.left': (e: ChannelMembershipEvent) => void;
  typing: (e: { channelId: string; userId: string }) => void;
  presence: (e: { userId: string; status: 'online' | 'offline' }) => void;
  /** Sent just before the server closes the socket (realtime.md "Client → server"). */
  'session.ended': (e: { code: 'token_revoked' | 'token_expired' | 'removed' | 'rate_limited'; message: string }) => void;
}

export interface ClientToServerEvents {
  join_channel: (payload: { channelId: string }, ack?: (a: Ack) => void) => void;
  leave_channel: (payload: { channelId: string }, ack?: (a: Ack) => void) => void;
  typing: (payload: { channelId: string }) => void;
}

/** Between realtime processes of one node (socket.io's serverSideEmit, through the Redis adapter). */
export interface InterServerEvents {
  /** How many sockets of this user the answering process holds. */
  user_socket_count: (userId: string, reply: (count: number) => void) => void;
  /** Which of these users hold at least one socket on the answering process. */
  users_online: (userIds: string[], reply: (online: string[]) => void) => void;
}
