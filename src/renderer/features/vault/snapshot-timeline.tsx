import { useMemo, useState, type ReactNode } from 'react';
import type { SnapshotSource, SnapshotView } from '../../../shared/vault';
import { EmptyState } from '../../components/empty-state';
import { VaultIcon } from '../../components/icons';
import { Pill } from '../../components/pill';
import { formatBytes, formatTime } from '../../lib/format';
import { useStore } from '../../stores/store';
import { SnapshotDetails } from './snapshot-details';
import { SOURCE_LOOK, appLabel } from './snapshot-labels';

interface Filters {
  /** The hostname (installation name when stored), '' for all. */
  host: string;
  app: string;
  source: string;
}

const dayFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

const SOURCES = Object.keys(SOURCE_LOOK) as SnapshotSource[];

/** One labelled filter: "All" plus [value, label] options. */
function FilterSelect(props: { label: string; value: string; onChange: (value: string) => void; options: [string, string][] }): ReactNode {
  return (
    <label className="vault-inline-field">
      <span>{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        <option value="">All</option>
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

/** Snapshots of one installation, newest first, as a vertical timeline with a dot per snapshot. */
function InstallationTimeline(props: { host: string; snapshots: SnapshotView[]; selectedId: string | null; onSelect: (id: string) => void }): ReactNode {
  const modules = useStore((s) => s.system.modules);
  let lastDay = '';
  return (
    <section className="vault-group" aria-label={`Snapshots of ${props.host}`}>
      <h3 className="vault-group-head">
        <span>{props.host}</span>
        <span className="muted">
          {props.snapshots.length} snapshot{props.snapshots.length === 1 ? '' : 's'}
        </span>
      </h3>
      <ol className="timeline">
        {props.snapshots.map((snapshot) => {
          const day = dayFormat.format(new Date(snapshot.time));
          const showDay = day !== lastDay;
          lastDay = day;
          const look = SOURCE_LOOK[snapshot.source];
          const selected = snapshot.id === props.selectedId;
          return (
            <li key={snapshot.id} className={`timeline-item${selected ? ' timeline-item-selected' : ''}`}>
              <span className="timeline-dot" aria-hidden="true" />
              <button
                type="button"
                className="timeline-button"
                aria-pressed={selected}
                onClick={() => props.onSelect(snapshot.id)}
              >
                {/* Named by what it shows (the archive first, so the name starts with it); CSS puts the time in the first column. */}
                <span className="timeline-what">
                  <span className="timeline-archive">
                    {snapshot.archive?.name ?? `snapshot ${snapshot.shortId}`}
                    {snapshot.unverified ? <span className="muted"> · unverified</span> : null}
                  </span>{' '}
                  <span className="muted">
                    {appLabel(snapshot.app, modules)}
                    {snapshot.archive ? ` · ${formatBytes(snapshot.archive.size)}` : ''} · <code>{snapshot.shortId}</code>
                  </span>
                </span>{' '}
                <span className="timeline-source" title={look.title}>
                  <Pill tone={look.tone}>{look.label}</Pill>
                </span>{' '}
                <span className="timeline-when" title={formatTime(snapshot.time)}>
                  <span className={showDay ? 'timeline-day' : 'timeline-day timeline-day-repeat'}>{day}</span>{' '}
                  <span className="muted">{hourFormat.format(new Date(snapshot.time))}</span>
                </span>
              </button>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

/** Filters by installation, app and source; snapshots grouped per installation; the selected one in detail. */
export function SnapshotBrowser(): ReactNode {
  const snapshots = useStore((s) => s.vault.snapshots);
  const [filters, setFilters] = useState<Filters>({ host: '', app: '', source: '' });
  const [selectedId, setSelectedId] = useState<string | null>(null);

  const hosts = useMemo(() => [...new Set((snapshots ?? []).map((s) => s.hostname))].sort((a, b) => a.localeCompare(b)), [snapshots]);
  const modules = useStore((s) => s.system.modules);
  const apps = useMemo(() => [...new Set((snapshots ?? []).map((s) => s.app).filter((a): a is string => a !== null))].sort(), [snapshots]);
  const groups = useMemo(() => {
    const shown = (snapshots ?? []).filter(
      (s) => (!filters.host || s.hostname === filters.host) && (!filters.app || s.app === filters.app) && (!filters.source || s.source === filters.source),
    );
    const byHost = new Map<string, SnapshotView[]>();
    for (const s of shown) byHost.set(s.hostname, [...(byHost.get(s.hostname) ?? []), s]);
    // The installation with the newest snapshot first; the core sends snapshots newest first.
    return [...byHost.entries()];
  }, [snapshots, filters]);

  if (!snapshots) return <p className="muted" role="status">Loading snapshots…</p>;
  const selected = snapshots.find((s) => s.id === selectedId) ?? null;
  const set = (key: keyof Filters) => (value: string) => setFilters((f) => ({ ...f, [key]: value }));

  return (
    <section className="card vault-snapshots" aria-labelledby="vault-snapshots-h">
      <div className="vault-section-head">
        <h2 id="vault-snapshots-h">Snapshots</h2>
        <span className="spacer" />
        <FilterSelect label="Installation" value={filters.host} onChange={set('host')} options={hosts.map((h) => [h, h])} />
        <FilterSelect label="App" value={filters.app} onChange={set('app')} options={apps.map((a) => [a, appLabel(a, modules)])} />
        <FilterSelect label="Source" value={filters.source} onChange={set('source')} options={SOURCES.map((source) => [source, SOURCE_LOOK[source].label])} />
      </div>
      {snapshots.length === 0 ? (
        <EmptyState title="No snapshots yet" icon={<VaultIcon width={28} height={28} />}>
          <p>Pull a backup from an installation on the Fleet page, or drop a backup file on this page to add it.</p>
        </EmptyState>
      ) : (
        <div className="vault-browser">
          <div className="vault-timelines">
            {groups.length === 0 ? <p className="muted">No snapshot matches these filters.</p> : null}
            {groups.map(([host, list]) => (
              <InstallationTimeline key={host} host={host} snapshots={list} selectedId={selected?.id ?? null} onSelect={setSelectedId} />
            ))}
          </div>
          <div className="vault-detail-pane">
            {selected ? <SnapshotDetails snapshot={selected} /> : <p className="muted">Select a snapshot to see its files, tags and sidecars.</p>}
          </div>
        </div>
      )}
    </section>
  );
}
