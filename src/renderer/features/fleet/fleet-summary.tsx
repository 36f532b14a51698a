import type { ReactNode } from 'react';
import { When } from '../../components/when';
import type { FleetEntry, Freshness } from '../../../shared/apps';
import type { Installation } from '../../../shared/installations';

/** Which installations the Fleet list shows: all, or those of one freshness. */
export type FleetFilter = Freshness | 'all';

/** The order and words of the strip; the first three always show, the rest only when there are some. */
const PARTS: { freshness: Freshness; label: string; always: boolean }[] = [
  { freshness: 'fresh', label: 'fresh', always: true },
  { freshness: 'due', label: 'due', always: true },
  { freshness: 'overdue', label: 'overdue', always: false },
  { freshness: 'failing', label: 'failing', always: true },
  { freshness: 'never', label: 'never backed up', always: false },
  { freshness: 'unknown', label: 'no cadence', always: false },
];

/** Whether an installation passes the filter (one without an overview entry yet only shows under "all"). */
export function passesFilter(filter: FleetFilter, entry: FleetEntry | undefined): boolean {
  return filter === 'all' || entry?.freshness === filter;
}

/**
 * The daily glance above the Fleet list: "12 installations · 10 fresh · 1 due · 1 failing · newest
 * copy 2 h ago". Every count is a button that narrows the list to those installations.
 */
export function FleetSummary(props: {
  installations: Installation[];
  overview: Record<string, FleetEntry> | null;
  filter: FleetFilter;
  onFilter: (filter: FleetFilter) => void;
}): ReactNode {
  const { installations, overview, filter, onFilter } = props;
  const counts = new Map<Freshness, number>();
  let newest: string | null = null;
  for (const installation of installations) {
    const entry = overview?.[installation.id];
    if (!entry) continue;
    counts.set(entry.freshness, (counts.get(entry.freshness) ?? 0) + 1);
    const time = entry.newestSnapshot?.time;
    if (time && (newest === null || time > newest)) newest = time;
  }
  const toggle = (to: FleetFilter): void => onFilter(filter === to ? 'all' : to);
  const total = installations.length;

  return (
    <div className="fleet-summary" role="group" aria-label="Fleet summary">
      <button type="button" className="summary-part" aria-pressed={filter === 'all'} onClick={() => onFilter('all')} title="Show every installation">
        <strong>{total}</strong> installation{total === 1 ? '' : 's'}
      </button>
      {PARTS.filter((p) => p.always || (counts.get(p.freshness) ?? 0) > 0).map((part) => {
        const count = counts.get(part.freshness) ?? 0;
        return (
          <span key={part.freshness} className="summary-item">
            <span className="summary-dot" aria-hidden="true">
              ·
            </span>
            <button
              type="button"
              className={`summary-part summary-${part.freshness}`}
              aria-pressed={filter === part.freshness}
              data-summary={part.freshness}
              onClick={() => toggle(part.freshness)}
              title={filter === part.freshness ? 'Show every installation' : `Show only the installations that are ${part.label}`}
            >
              <strong>{count}</strong> {part.label}
            </button>
          </span>
        );
      })}
      <span className="summary-item">
        <span className="summary-dot" aria-hidden="true">
          ·
        </span>
        <span className="summary-newest" data-testid="summary-newest" >
          {newest ? <When iso={newest} prefix="newest copy " /> : 'nothing in the vault yet'}
        </span>
      </span>
    </div>
  );
}
