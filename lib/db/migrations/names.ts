/**
 * The names of every migration, in order, without their code: enough to tell whether a
 * database is up to date, so a process that does not migrate (a handler bundle) need not
 * load the migrations themselves. `index.ts` holds the code under the same names (a unit
 * test keeps the two lists equal).
 */
export const MIGRATION_NAMES: readonly string[] = [
  '2026112401_foundation',
  '2026112402_messages',
  '2026112403_turns',
  '2026112404_files_canvas_commands',
  '2026120101_mentions_mediumtext',
  '2026120610_event_log',
  '2026120620_agent_rooms',
  '2026120630_post_rate_limits',
  '2026120631_read_positions',
  '2026120640_channel_event_refs',
  '2026120650_channel_members_version',
  '2026120660_edit_rate_buckets',
  '2026120670_exact_text_comparison',
];
