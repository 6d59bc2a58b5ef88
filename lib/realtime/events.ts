/**
 * The typed event map of realtime.md and agent-rooms.md: every server→client and
 * client→server event of `/realtime` with its exact payload, and the API objects they carry
 * (api.md). The server's emit builders (`emitTo`), the realtime app, the client SDK and the
 * tests all use these types; `npm run build` ships them as `fabric-guild-node/events`.
 *
 * This file imports nothing: browsers and agent plugins get it without any server code.
 * Fields marked "optional on nodes without …" are in the contract; a client may still talk
 * to a node that does not send them yet, so they are typed optional rather than assumed.
 */

// ---------------------------------------------------------------- API objects (api.md)

export type ChannelXType = 'general' | 'work' | 'report' | 'discuss' | 'triage' | 'custom';

export interface Attachment {
  id: string;
  name: string;
  size: number;
  mime: string;
  url: string;
  expired: boolean;
}

/** api.md "Messages". A deleted message is a tombstone (empty content, `deletedAt` set). */
export interface Message {
  id: string;
  channelId: string;
  guildId: string;
  seq: number;
  authorId: string;
  content: string;
  replyToId: string | null;
  mentions: string[];
  attachments: Attachment[];
  clientMsgId: string | null;
  createdAt: string;
  editedAt: string | null;
  deletedAt: string | null;
}

/** agent-rooms.md "Agent loop guard". */
export interface LoopGuardState {
  tripped: boolean;
  agentStreak: number;
}

/** api.md "Channels", with the fields of realtime.md (`eventPos`) and agent-rooms.md. */
export interface Channel {
  id: string;
  guildId: string;
  name: string;
  topic: string;
  xType: ChannelXType;
  isPublic: boolean;
  closed: boolean;
  createdBy: string;
  createdAt: string;
  lastSeq: number;
  memberCount: number;
  /** The channel stream's last position (optional on nodes without the event log). */
  eventPos?: number;
  /** Optional on nodes without agent-rooms.md. */
  repliesWake?: boolean;
  turnTimeoutSeconds?: number | null;
  agentLoopLimit?: number | null;
  loopGuard?: LoopGuardState;
  /** For a user caller; null for a guild token (optional on nodes without read positions). */
  readSeq?: number | null;
  unreadCount?: number | null;
}

/** An item of `GET /api/channels?guildId=`. */
export interface ChannelListItem extends Channel {
  isMember: boolean;
}

export interface Guild {
  id: string;
  name: string;
  description: string;
  ownerId: string;
  nodeId: string;
  createdAt: string;
}

export type TurnStatus = 'idle' | 'active' | 'paused';

export interface TurnFrame {
  by: string;
  queue: string[];
}

/** api.md "Turn engine" and turns.md, with `speakerSince`/`deadline` of agent-rooms.md. */
export interface Turn {
  channelId: string;
  status: TurnStatus;
  round: number;
  speakerId: string | null;
  order: string[];
  bypass: string[];
  spoken: string[];
  passed: string[];
  frames: TurnFrame[];
  updatedAt: string;
  /** Optional on nodes without speaker timeouts. */
  speakerSince?: string | null;
  deadline?: string | null;
}

export type CanvasFormat = 'md' | 'html' | 'text';

export interface Canvas {
  channelId: string;
  format: CanvasFormat;
  title: string;
  content: string;
  sharedBy: string;
  version: number;
  createdAt: string;
  updatedAt: string;
}

// ---------------------------------------------------------------- delivery fields

/** Why a recipient was woken (agent-rooms.md "Wake reasons"); null when `wakeup` is false. */
export type WakeReason = 'general' | 'on_duty' | 'listener' | 'speaker' | 'mention' | 'reply' | 'frame' | 'timeout';

/** Why the turn changed (realtime.md, and `timeout` of agent-rooms.md). */
export type TurnReason = 'message' | 'no-reply' | 'force-proceed' | 'ack' | 'membership' | 'order' | 'timeout';

/**
 * What the node adds to every event of a stream when it delivers it (realtime.md "Streams,
 * positions and resume"): the stream position, and `replayed: true` on events sent again
 * after a `join_channel {since}` or `resume_user {since}`.
 */
export interface StreamDelivery {
  pos: number;
  replayed?: true;
}

/** Per-recipient fields of `message.created` and `turn.updated`. */
export interface WakeDelivery {
  wakeup: boolean;
  wakeReason: WakeReason | null;
}

// ---------------------------------------------------------------- event payloads

export type MessageCreatedEvent = Message & WakeDelivery & StreamDelivery;
export type MessageUpdatedEvent = Message & StreamDelivery;
export interface MessageDeletedEvent extends StreamDelivery {
  id: string;
  channelId: string;
  seq: number;
  deletedAt: string;
}
export type TurnUpdatedEvent = Turn & { reason: TurnReason } & WakeDelivery & StreamDelivery;
export interface CanvasUpdatedEvent extends StreamDelivery {
  channelId: string;
  canvas: Canvas;
}
export interface CanvasRemovedEvent extends StreamDelivery {
  channelId: string;
}
export interface ChannelUpdatedEvent extends StreamDelivery {
  channel: Channel;
}
/** agent-rooms.md "Agent loop guard". */
export interface LoopGuardEvent extends StreamDelivery {
  channelId: string;
  tripped: boolean;
  agentStreak: number;
}
/** `channel.joined` / `channel.left`, events of the user's stream. */
export interface ChannelMembershipEvent extends StreamDelivery {
  channelId: string;
  userId: string;
  xType: ChannelXType;
  occurredAt: string;
}
export interface TypingEvent {
  channelId: string;
  userId: string;
}
export interface PresenceEvent {
  userId: string;
  status: 'online' | 'offline';
}
export type SessionEndCode = 'token_revoked' | 'token_expired' | 'rate_limited' | 'removed';
/** Sent right before the node closes the socket (realtime.md "Client → server"). */
export interface SessionEndedEvent {
  code: SessionEndCode;
  message: string;
}

// ---------------------------------------------------------------- acks

export type ErrorCode = 'bad_request' | 'unauthorized' | 'forbidden' | 'not_found' | 'rate_limited' | 'internal' | (string & {});
export interface AckError {
  ok: false;
  error: { code: ErrorCode; message: string };
}
export interface AckOk {
  ok: true;
}
export type Ack = AckOk | AckError;
/** Ack of `join_channel` and `resume_user`: the stream's current position, `resync` when `since` is beyond retention. */
export interface StreamAckOk {
  ok: true;
  pos: number;
  resync?: true;
}
export type StreamAck = StreamAckOk | AckError;

// ---------------------------------------------------------------- the maps

export interface ServerToClientEvents {
  'message.created': (e: MessageCreatedEvent) => void;
  'message.updated': (e: MessageUpdatedEvent) => void;
  'message.deleted': (e: MessageDeletedEvent) => void;
  'turn.updated': (e: TurnUpdatedEvent) => void;
  'canvas.updated': (e: CanvasUpdatedEvent) => void;
  'canvas.removed': (e: CanvasRemovedEvent) => void;
  'channel.updated': (e: ChannelUpdatedEvent) => void;
  'channel.loop_guard': (e: LoopGuardEvent) => void;
  'channel.joined': (e: ChannelMembershipEvent) => void;
  'channel.left': (e: ChannelMembershipEvent) => void;
  typing: (e: TypingEvent) => void;
  presence: (e: PresenceEvent) => void;
  'session.ended': (e: SessionEndedEvent) => void;
}

/** Each ack is the last argument, as socket.io's typed acks (and `socket.timeout()`) expect; the node answers every one. */
export interface ClientToServerEvents {
  join_channel: (payload: { channelId: string; since?: number }, ack: (a: StreamAck) => void) => void;
  leave_channel: (payload: { channelId: string }, ack: (a: Ack) => void) => void;
  resume_user: (payload: { since: number }, ack: (a: StreamAck) => void) => void;
  typing: (payload: { channelId: string }) => void;
}

export type ServerEventName = keyof ServerToClientEvents;
export type ServerEventPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];

/** The events of a channel's stream (sent to `channel:<id>`). */
export const CHANNEL_STREAM_EVENTS = [
  'message.created',
  'message.updated',
  'message.deleted',
  'turn.updated',
  'canvas.updated',
  'canvas.removed',
  'channel.updated',
  'channel.loop_guard',
] as const satisfies readonly ServerEventName[];
export type ChannelStreamEvent = (typeof CHANNEL_STREAM_EVENTS)[number];

/** The events of a user's stream (sent to `user:<id>`). */
export const USER_STREAM_EVENTS = ['channel.joined', 'channel.left'] as const satisfies readonly ServerEventName[];
export type UserStreamEvent = (typeof USER_STREAM_EVENTS)[number];

/** Events that carry a per-recipient `wakeup` and `wakeReason`. */
export type WakeEvent = 'message.created' | 'turn.updated';

/**
 * What the server hands over for an event: its payload without the fields added at delivery
 * (`pos`, `replayed`, and the per-recipient `wakeup`/`wakeReason`).
 */
export type EmitPayload<E extends ServerEventName> = Omit<ServerEventPayload<E>, keyof StreamDelivery | keyof WakeDelivery>;
