/**
 * What the Fleet list shows at 200 installations: a search over names, addresses and tags, filters
 * by app, connection state and tag, an order (most urgent first by default) and an optional
 * grouping by app or by first tag. Pure, so the list and its tests compute the same rows.
 */
import type { FleetEntry, Freshness } from '../../../shared/apps';
import type { ConnectionState, Installation, InstallationStatus } from '../../../shared/installations';
import { passesFilter, type FleetFilter } from './fleet-summary';

export type FleetSort = 'urgency' | 'name' | 'newest-backup';
export type FleetGrouping = 'none' | 'app' | 'tag';

/** The toolbar's choices; '' means "any". */
export interface FleetViewOptions {
  search: string;
  app: string;
  state: ConnectionState | '';
  tag: string;
  freshness: FleetFilter;
  sort: FleetSort;
  group: FleetGrouping;
}

export const DEFAULT_VIEW: FleetViewOptions = { search: '', app: '', state: '', tag: '', freshness: 'all', sort: 'urgency', group: 'none' };

/** One line of the list: a group heading or an installation. */
export type FleetLine = { kind: 'group'; key: string; label: string; count: number } | { kind: 'row'; key: string; installation: Installation };

/** Lower is more urgent: what needs the operator first. */
const FRESHNESS_RANK: Record<Freshness, number> = { failing: 0, overdue: 2, never: 3, due: 4, unknown: 5, fresh: 6 };
const STATE_RANK: Partial<Record<ConnectionState, number>> = { 'host-key-untrusted': 0, 'auth-failed': 0, offline: 1 };

/** How urgent an installation is: broken or untrusted first, then failing, overdue, never, due, fresh. */
/** One collator for every name comparison: `localeCompare` with options builds a new one per call (milliseconds per sort at 200 rows). */
const NAME_ORDER = new Intl.Collator(undefined, { numeric: true });

/** ISO 8601 times (or '' for none) in time order: plain string order is enough. */
function byTime(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function urgencyOf(entry: FleetEntry | undefined, status: InstallationStatus | undefined): number {
  const stateRank = status ? STATE_RANK[status.state] : undefined;
  const anomalies = entry?.anomalies?.length ? 1 : undefined;
  return Math.min(stateRank ?? 9, entry ? FRESHNESS_RANK[entry.freshness] : 7, anomalies ?? 9);
}

/** Every tag in the fleet, once (first spelling), sorted. */
export function fleetTags(installations: readonly Installation[]): string[] {
  const byKey = new Map<string, string>();
  for (const installation of installations) for (const tag of installation.tags) if (!byKey.has(tag.toLowerCase())) byKey.set(tag.toLowerCase(), tag);
  return [...byKey.values()].sort((a, b) => a.localeCompare(b));
}

function matchesSearch(installation: Installation, words: string[]): boolean {
  if (words.length === 0) return true;
  const haystack = [installation.name, installation.app, installation.ssh?.host, installation.ssh?.user, installation.https?.baseUrl, ...installation.tags].filter(Boolean).join(' ').toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/**
 * The lines to show: installations passing every filter, in the chosen order, with a heading
 * before each group when grouped (an installation belongs to the group of its first tag).
 */
export function fleetLines(
  installations: readonly Installation[],
  overview: Record<string, FleetEntry> | null,
  statuses: Record<string, InstallationStatus | undefined>,
  options: FleetViewOptions,
  appLabel: (kind: string) => string,
): FleetLine[] {
  const words = options.search.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const tag = options.tag.toLowerCase();
  const shown = installations.filter(
    (i) =>
      passesFilter(options.freshness, overview?.[i.id]) &&
      (options.app === '' || i.app === options.app) &&
      (options.state === '' || (statuses[i.id]?.state ?? 'unknown') === options.state) &&
      (tag === '' || i.tags.some((t) => t.toLowerCase() === tag)) &&
      matchesSearch(i, words),
  );
  const newest = (i: Installation): string => overview?.[i.id]?.newestSnapshot?.time ?? '';
  const byName = (a: Installation, b: Installation): number => NAME_ORDER.compare(a.name, b.name);
  const compare = (a: Installation, b: Installation): number => {
    if (options.sort === 'name') return byName(a, b);
    if (options.sort === 'newest-backup') return byTime(newest(b), newest(a)) || byName(a, b);
    // Equally urgent: the one whose newest copy is oldest first.
    return urgencyOf(overview?.[a.id], statuses[a.id]) - urgencyOf(overview?.[b.id], statuses[b.id]) || byTime(newest(a), newest(b)) || byName(a, b);
  };
  const sorted = [...shown].sort(compare);
  if (options.group === 'none') return sorted.map((installation) => ({ kind: 'row', key: installation.id, installation }));

  const groups = new Map<string, { label: string; members: Installation[] }>();
  for (const installation of sorted) {
    const [key, label] = options.group === 'app' ? [installation.app, appLabel(installation.app)] : installation.tags[0] ? [installation.tags[0].toLowerCase(), installation.tags[0]] : ['', 'No tag'];
    const group = groups.get(key) ?? { label, members: [] };
    group.members.push(installation);
    groups.set(key, group);
  }
  // Groups by name, the untagged last.
  const ordered = [...groups.entries()].sort(([ka, a], [kb, b]) => (ka === '' ? 1 : kb === '' ? -1 : a.label.localeCompare(b.label)));
  return ordered.flatMap(([key, group]) => [
    { kind: 'group' as const, key: `group:${key}`, label: group.label, count: group.members.length },
    ...group.members.map((installation) => ({ kind: 'row' as const, key: installation.id, installation })),
  ]);
}

/** Whether any choice narrows the list (so an empty result offers "Clear filters"). */
export function isFiltered(options: FleetViewOptions): boolean {
  return options.search.trim() !== '' || options.app !== '' || options.state !== '' || options.tag !== '' || options.freshness !== 'all';
}
