// Which tables of the live MeshMonitor database a restore of this archive leaves alone: read from the
// database over SSH when the operator's command reaches it, else MeshMonitor 4.15.1's known list.
import type { PreflightCheck } from '../../../shared/apps';
import { LifeboatError } from '../../../shared/errors';
import type { SshSession } from '../../transport/ssh/session';
import { fillCommandTemplate } from '../../transport/ssh/command-template';
import type { MeshMonitorSettings } from './settings';
import { MESHMONITOR_EXCLUDED_TABLES } from './tables';

const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_LISTED = 2_000;

/** The live database's tables, or why they could not be read. */
export type LiveTables = { tables: string[] } | { tables: null; reason: string };

/** Runs the table-list command; its output is one table name per line. */
export async function readLiveTables(ssh: SshSession | null, settings: MeshMonitorSettings, signal: AbortSignal): Promise<LiveTables> {
  if (!settings.tableListCommand) return { tables: null, reason: 'the setting tableListCommand is empty' };
  if (!ssh) return { tables: null, reason: 'there is no SSH connection to the host' };
  const command = fillCommandTemplate(settings.tableListCommand, { dataDir: settings.dataDir }, 'The table list command');
  const result = await ssh.exec(command, { signal, maxBuffer: 256 * 1024 });
  if (result.code !== 0) {
    const said = result.stderr.trim().split('\n').pop() ?? '';
    return { tables: null, reason: `the table list command exited ${result.code ?? result.signal}${said ? `: ${said}` : ''}` };
  }
  const lines = result.stdout.split('\n').map((line) => line.trim()).filter(Boolean);
  const bad = lines.find((line) => !TABLE_NAME.test(line));
  if (bad !== undefined) return { tables: null, reason: `the table list command printed "${bad.slice(0, 80)}", which is not a table name` };
  if (lines.length === 0 || result.stdoutTruncated || lines.length > MAX_LISTED) {
    return { tables: null, reason: lines.length === 0 ? 'the table list command printed no table' : 'the table list command printed too much' };
  }
  return { tables: [...new Set(lines)].sort() };
}

/**
 * The plan's check naming the tables a restore of `restored` leaves as they are on the server (never
 * blocking): the live list minus the restored tables, or, unread, MeshMonitor 4.15.1's known list.
 */
export function tablesLeftOutCheck(live: LiveTables, restored: readonly string[], archiveTables: readonly string[]): PreflightCheck {
  const replaced = new Set(restored);
  const base = { id: 'tables-left-out', kind: 'target' as const, name: 'Tables left as they are', blocking: false };
  if (live.tables === null) {
    const known = [...new Set([...archiveTables, ...MESHMONITOR_EXCLUDED_TABLES])].filter((t) => !replaced.has(t)).sort();
    return {
      ...base,
      ok: false,
      detail: `at least these ${known.length} tables stay as they are (MeshMonitor 4.15.1's list; a server that ran other versions may have more): ${known.join(', ')}. The live list could not be read: ${live.reason}.`,
    };
  }
  const leftOut = live.tables.filter((t) => !replaced.has(t));
  return {
    ...base,
    ok: true,
    detail: `the live database has ${live.tables.length} tables (read over SSH); the restore replaces ${live.tables.length - leftOut.length} and leaves these ${leftOut.length} as they are: ${leftOut.join(', ')}`,
  };
}

/** The same, for a plan that must not fail because of it: a cancel still ends the plan. */
export async function tablesLeftOut(
  ssh: SshSession | null,
  settings: MeshMonitorSettings,
  tables: { restored: readonly string[]; archive: readonly string[] },
  signal: AbortSignal,
): Promise<PreflightCheck> {
  let live: LiveTables;
  try {
    live = await readLiveTables(ssh, settings, signal);
  } catch (error) {
    if (error instanceof LifeboatError && error.code === 'CANCELLED') throw error;
    live = { tables: null, reason: error instanceof Error ? error.message : String(error) };
  }
  return tablesLeftOutCheck(live, tables.restored, tables.archive);
}
