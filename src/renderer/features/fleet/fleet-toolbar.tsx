import type { ReactNode } from 'react';
import type { ConnectionState, Installation } from '../../../shared/installations';
import { useStore } from '../../stores/store';
import { fleetTags, isFiltered, DEFAULT_VIEW, type FleetGrouping, type FleetSort, type FleetViewOptions } from './fleet-view';

const STATES: { state: ConnectionState; label: string }[] = [
  { state: 'online', label: 'Online' },
  { state: 'offline', label: 'Offline' },
  { state: 'auth-failed', label: 'Sign-in failed' },
  { state: 'host-key-untrusted', label: 'Not trusted yet' },
  { state: 'checking', label: 'Checking' },
  { state: 'unknown', label: 'Not checked' },
];

/** Search, filters by app / connection / tag, order and grouping of the Fleet list. */
export function FleetToolbar(props: { installations: Installation[]; view: FleetViewOptions; shown: number; onChange: (view: FleetViewOptions) => void }): ReactNode {
  const { installations, view, onChange } = props;
  const modules = useStore((s) => s.system.modules);
  const kinds = [...new Set(installations.map((i) => i.app))].sort();
  const tags = fleetTags(installations);
  const set = (patch: Partial<FleetViewOptions>): void => onChange({ ...view, ...patch });
  return (
    <div className="fleet-toolbar" role="search" aria-label="Find installations">
      <input
        type="search"
        className="fleet-search"
        placeholder="Search name, host or tag"
        aria-label="Search installations"
        value={view.search}
        onChange={(ev) => set({ search: ev.target.value })}
      />
      <label className="fleet-filter">
        <span>App</span>
        <select aria-label="App" value={view.app} onChange={(ev) => set({ app: ev.target.value })}>
          <option value="">Any</option>
          {kinds.map((kind) => (
            <option key={kind} value={kind}>
              {modules.find((m) => m.kind === kind)?.label ?? kind}
            </option>
          ))}
        </select>
      </label>
      <label className="fleet-filter">
        <span>State</span>
        <select aria-label="State" value={view.state} onChange={(ev) => set({ state: ev.target.value as ConnectionState | '' })}>
          <option value="">Any</option>
          {STATES.map((s) => (
            <option key={s.state} value={s.state}>
              {s.label}
            </option>
          ))}
        </select>
      </label>
      <label className="fleet-filter">
        <span>Tag</span>
        <select aria-label="Tag" value={view.tag} onChange={(ev) => set({ tag: ev.target.value })} disabled={tags.length === 0}>
          <option value="">Any</option>
          {tags.map((tag) => (
            <option key={tag} value={tag}>
              {tag}
            </option>
          ))}
        </select>
      </label>
      {isFiltered(view) ? (
        <button type="button" className="button-link" onClick={() => onChange({ ...DEFAULT_VIEW, sort: view.sort, group: view.group })}>
          Clear filters
        </button>
      ) : null}
      <span className="fleet-toolbar-view">
        <label className="fleet-filter">
          <span>Sort</span>
          <select aria-label="Sort" value={view.sort} onChange={(ev) => set({ sort: ev.target.value as FleetSort })}>
            <option value="urgency">Most urgent first</option>
            <option value="name">Name</option>
            <option value="newest-backup">Newest backup</option>
          </select>
        </label>
        <label className="fleet-filter">
          <span>Group</span>
          <select aria-label="Group" value={view.group} onChange={(ev) => set({ group: ev.target.value as FleetGrouping })}>
            <option value="none">None</option>
            <option value="app">By app</option>
            <option value="tag">By first tag</option>
          </select>
        </label>
        <span className="fleet-count muted" role="status">
          {props.shown === installations.length ? `${installations.length} shown` : `${props.shown} of ${installations.length} shown`}
        </span>
      </span>
    </div>
  );
}
