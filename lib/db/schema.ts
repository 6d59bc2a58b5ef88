import type { Generated } from 'kysely';
import type { ChannelXType } from '../realtime/events.js';

/** Table → row types. Timestamps are epoch milliseconds; booleans are 0/1. */
export interface Database {
  guilds: GuildTable;
  guild_members: GuildMemberTable;
  channels: ChannelTable;
  channel_members: ChannelMemberTable;
  channel_wake_users: ChannelWakeUserTable;
  messages: MessageTable;
  message_attachments: MessageAttachmentTable;
  channel_turn_state: ChannelTurnStateTable;
  files: FileTable;
  canvases: CanvasTable;
  commands: CommandTable;
  leases: LeaseTable;
  post_rate_buckets: RateBucketTable;
  edit_rate_buckets: RateBucketTable;
  user_streams: UserStreamTable;
  channel_events: ChannelEventTable;
  user_events: UserEventTable;
}

export interface GuildTable {
  id: string;
  name: string;
  description: string;
  owner_id: string;
  created_at: number;
}

export type GuildRole = 'owner' | 'admin' | 'member';

export interface GuildMemberTable {
  guild_id: string;
  user_id: string;
  role: GuildRole;
  joined_at: number;
  kind: Generated<MemberKind>;
}

/** Whether a member is a person or an agent (agent-rooms.md); the loop guard counts agents. */
export type MemberKind = 'person' | 'agent';

export interface ChannelTable {
  id: string;
  guild_id: string;
  name: string;
  topic: string;
  /** Only the values of CHANNEL_TYPES are ever written (validated on create). */
  x_type: ChannelXType;
  is_public: number;
  closed: number;
  created_by: string;
  created_at: number;
  last_seq: Generated<number>;
  /** Position of the channel's last event in its stream (0 before the first). */
  last_pos: Generated<number>;
  /** Raised by every removal of a member (the post path's check of an author it has seen stored). */
  members_version: Generated<number>;
  /** Speaker timeout in seconds (discuss/work), null = off. */
  turn_timeout_seconds: Generated<number | null>;
  replies_wake: Generated<number>;
  /** Agent messages in a row before the loop guard trips, null = off. */
  agent_loop_limit: Generated<number | null>;
  loop_tripped: Generated<number>;
  agent_streak: Generated<number>;
}

export interface ChannelMemberTable {
  channel_id: string;
  user_id: string;
  joined_at: number;
  /** The member's read position (a seq, 0 until set); only ever moves forward. */
  read_seq: Generated<number>;
}

export interface ChannelWakeUserTable {
  channel_id: string;
  user_id: string;
  position: number;
}

export interface MessageTable {
  id: string;
  channel_id: string;
  guild_id: string;
  seq: number;
  author_id: string;
  content: string;
  reply_to_id: string | null;
  /** JSON array of user ids. */
  mentions: string;
  client_msg_id: string | null;
  created_at: number;
  edited_at: number | null;
  deleted_at: number | null;
}

export interface MessageAttachmentTable {
  message_id: string;
  file_id: string;
  position: number;
  /** Copied from the file at post time (survives the retention sweep). */
  name: string;
  size: number;
  mime: string;
}

export interface ChannelTurnStateTable {
  channel_id: string;
  /** JSON of lib/turns/engine TurnState. */
  state: string;
  updated_at: number;
  /** When the current speaker became speaker (null without a speaker). */
  speaker_since: Generated<number | null>;
  /** speaker_since + the channel's timeout, or null (no timeout, no speaker). */
  deadline: Generated<number | null>;
}

export interface FileTable {
  id: string;
  uploader_id: string;
  name: string;
  size: number;
  mime: string;
  sha256: string;
  storage_name: string;
  created_at: number;
  expires_at: number;
}

export interface CanvasTable {
  channel_id: string;
  format: string;
  title: string;
  content: string;
  shared_by: string;
  version: number;
  created_at: number;
  updated_at: number;
}

export interface CommandTable {
  user_id: string;
  name: string;
  description: string;
  /** JSON of the spec as registered. */
  spec: string;
  size: number;
}

export interface LeaseTable {
  name: string;
  holder: string;
  expires_at: number;
}

/** A flood limit's token bucket per user and channel (posts and edits have a table each). */
export interface RateBucketTable {
  channel_id: string;
  user_id: string;
  /** Epoch microseconds at which the bucket is full again (a token bucket kept as one time). */
  tat_us: number;
}

export interface UserStreamTable {
  user_id: string;
  last_pos: number;
}

/** One event of a stream, as handed to the realtime side (JSON text columns). */
interface StreamEventColumns {
  pos: number;
  event: string;
  /** JSON of the event's payload. */
  data: string;
  /** JSON of the emit's delivery information (per-recipient wake), null when it has none. */
  delivery: string | null;
  ref: string | null;
  created_at: number;
}

export interface ChannelEventTable extends StreamEventColumns {
  channel_id: string;
}

export interface UserEventTable extends StreamEventColumns {
  user_id: string;
}
