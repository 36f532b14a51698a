// What a MeshMonitor 4.15.1 system backup leaves out and what its restore wipes besides the restored
// tables; every fact is from specs/meshmonitor.md §1.3 and §5.4.

/**
 * Tables of a 4.15.1 SQLite database that `BACKUP_TABLES` does not include (§1.3): the 50 of a fresh
 * database, and `upgrade_history`, which the real server has after its first restart (71 tables).
 * A server that ran other versions may have more: the preview says "at least these".
 */
export const MESHMONITOR_EXCLUDED_TABLES = [
  'api_tokens', 'atak_contacts', 'auto_distance_delete_log', 'auto_key_repair_log', 'auto_key_repair_state',
  'auto_time_sync_nodes', 'auto_traceroute_log', 'automation_home_anchors', 'automation_runs',
  'automation_variable_values', 'automation_variables', 'automations', 'backup_history', 'channel_database',
  'channel_database_permissions', 'conversation_read_state', 'custom_themes', 'dead_drop_messages', 'embed_profiles',
  'estimated_position_anchors', 'estimated_positions', 'geofence_cooldowns', 'ignored_nodes', 'mesh_beacon_offers',
  'meshcore_heard_repeaters', 'meshcore_messages', 'meshcore_neighbor_info', 'meshcore_nodes',
  'meshcore_observer_credentials', 'meshcore_observer_keys', 'meshcore_packet_log', 'meshcore_pathfinding_targets',
  'meshcore_position_history', 'meshcore_saved_regions', 'meshtastic_heard_repeaters', 'message_events',
  'mqtt_ok_to_mqtt_violations', 'mqtt_packet_log', 'news_cache', 'push_subscriptions', 'reticulum_destinations',
  'reticulum_interfaces', 'reticulum_messages', 'reticulum_paths', 'sessions', 'source_pki_keys', 'sqlite_sequence',
  'upgrade_history', 'user_map_preferences', 'user_news_status', 'waypoints',
] as const;

/** Tables a 4.15.1 SQLite database has in all after its first restart (backed up + excluded). */
export const MESHMONITOR_TOTAL_TABLES = 71;

/**
 * Foreign-key cascades a restore sets off (SQLite runs with foreign_keys = ON): `DELETE FROM <table>`
 * wipes or nulls rows of tables that are not in the backup, so they are not brought back (§5.4).
 */
export const MESHMONITOR_RESTORE_CASCADES: Record<string, string> = {
  users:
    'restoring users deletes every row of api_tokens, push_subscriptions, user_map_preferences, channel_database_permissions ' +
    'and user_news_status (FK cascade) and sets custom_themes.created_by and channel_database.created_by to NULL; ' +
    'an API token stored in Lifeboat stops working',
  sources: 'restoring sources deletes every row of ignored_nodes and waypoints (FK cascade)',
};

/** Side effects of restoring particular tables that are not cascades but surprise operators (§1.4, §5.3, §5.4). */
export const MESHMONITOR_RESTORE_SIDE_EFFECTS: Record<string, string> = {
  system_backup_history:
    "restoring system_backup_history replaces MeshMonitor's backup list with the backup's own older copy (directories stay on disk but are no longer listed)",
  audit_log: 'restoring audit_log replaces the audit trail with the backup\'s copy; entries written since the backup are lost',
  settings:
    "restoring settings also replaces the migration_NNN_* completion flags with the backup's values; MeshMonitor runs no migration after a restore",
};

/** The warnings that apply when `tables` are restored, in a stable order. */
export function restoreEffects(tables: readonly string[]): string[] {
  const chosen = new Set(tables);
  return [...Object.entries(MESHMONITOR_RESTORE_CASCADES), ...Object.entries(MESHMONITOR_RESTORE_SIDE_EFFECTS)]
    .filter(([table]) => chosen.has(table))
    .map(([, text]) => text);
}
