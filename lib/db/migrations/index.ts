import type { Migration } from 'kysely';
import * as foundation from './2026112401_foundation.js';
import * as messages from './2026112402_messages.js';
import * as turns from './2026112403_turns.js';
import * as filesCanvasCommands from './2026112404_files_canvas_commands.js';
import * as mentionsMediumtext from './2026120101_mentions_mediumtext.js';
import * as eventLog from './2026120610_event_log.js';
import * as agentRooms from './2026120620_agent_rooms.js';
import * as postRateLimits from './2026120630_post_rate_limits.js';
import * as readPositions from './2026120631_read_positions.js';
import * as channelEventRefs from './2026120640_channel_event_refs.js';
import * as channelMembersVersion from './2026120650_channel_members_version.js';
import * as editRateBuckets from './2026120660_edit_rate_buckets.js';
import * as exactTextComparison from './2026120670_exact_text_comparison.js';

/** Every migration, by name, in order. Static so that bundles carry them. */
export const migrations: Record<string, Migration> = {
  '2026112401_foundation': foundation,
  '2026112402_messages': messages,
  '2026112403_turns': turns,
  '2026112404_files_canvas_commands': filesCanvasCommands,
  '2026120101_mentions_mediumtext': mentionsMediumtext,
  '2026120610_event_log': eventLog,
  '2026120620_agent_rooms': agentRooms,
  '2026120630_post_rate_limits': postRateLimits,
  '2026120631_read_positions': readPositions,
  '2026120640_channel_event_refs': channelEventRefs,
  '2026120650_channel_members_version': channelMembersVersion,
  '2026120660_edit_rate_buckets': editRateBuckets,
  '2026120670_exact_text_comparison': exactTextComparison,
};
