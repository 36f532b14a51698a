import { lazy, Suspense, useDeferredValue, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { Installation } from '../../../shared/installations';
import { EmptyState } from '../../components/empty-state';
import { ErrorMessage } from '../../components/error-message';
import { FleetIcon, PlusIcon } from '../../components/icons';
import { useStore } from '../../stores/store';
import { FleetVirtualList } from './fleet-virtual-list';
import { FleetToolbar } from './fleet-toolbar';
import { DEFAULT_VIEW, fleetLines, isFiltered, type FleetViewOptions } from './fleet-view';
import { startConnectionTest } from './connection-test';
import { fleetHref, useFleetScreen } from './sub-route';
import { api } from '../../lib/api';
import { FleetSummary, type FleetFilter } from './fleet-summary';

// Not needed for the list's first paint: each in its own chunk, loaded when opened.
const InstallationFormDialog = lazy(() => import('./installation-form').then((m) => ({ default: m.InstallationFormDialog })));
const PreviewScreen = lazy(() => import('../preview/preview-screen').then((m) => ({ default: m.PreviewScreen })));
const RestoreWizard = lazy(() => import('../restore/restore-wizard').then((m) => ({ default: m.RestoreWizard })));

/** Which form is open: none, a new installation, or editing one by id. */
type FormState = { mode: 'closed' } | { mode: 'add' } | { mode: 'edit'; id: string };

/** The Fleet page, or the preview / restore screen its fragment names. */
export function FleetPage(): ReactNode {
  const screen = useFleetScreen();
  switch (screen.kind) {
    case 'preview':
      return <PreviewScreen key={screen.snapshotId ?? 'file'} snapshotId={screen.snapshotId} />;
    case 'restore':
      return <RestoreWizard key={`${screen.installationId}/${screen.snapshotId ?? ''}`} installationId={screen.installationId} snapshotId={screen.snapshotId} />;
    default:
      return <FleetList editId={screen.editId ?? null} />;
  }
}

/** The fleet: every installation with its live status and backups, and the way to add the first one. */
function FleetList(props: { editId: string | null }): ReactNode {
  const installations = useStore((s) => s.fleet.installations);
  const loadError = useStore((s) => s.fleet.loadError);
  const [form, setForm] = useState<FormState>({ mode: 'closed' });
  const [testError, setTestError] = useState<unknown>(null);
  const [refreshError, setRefreshError] = useState<unknown>(null);
  const overviewError = useStore((s) => s.fleet.overviewError);
  const overview = useStore((s) => s.fleet.overview);
  const statuses = useStore((s) => s.fleet.statuses);
  const modules = useStore((s) => s.system.modules);
  const [view, setView] = useState<FleetViewOptions>(DEFAULT_VIEW);
  const filter = view.freshness;
  const setFilter = (freshness: FleetFilter): void => setView((v) => ({ ...v, freshness }));
  // The search box shows each key at once; the list follows at lower priority, so typing never
  // waits for 200 rows to be filtered and re-rendered (React drops stale intermediate lists).
  const listView = useDeferredValue(view);
  const lines = useMemo(
    () => fleetLines(installations ?? [], overview, statuses, listView, (kind) => modules.find((m) => m.kind === kind)?.label ?? kind),
    [installations, overview, statuses, listView, modules],
  );
  const shown = lines.filter((l) => l.kind === 'row').length;
  const editing = form.mode === 'edit' ? installations?.find((i) => i.id === form.id) : undefined;

  // #/fleet/edit/<id> (the fix a dead end links to) opens that installation's form; closing it leaves the fragment.
  useEffect(() => {
    if (props.editId) setForm({ mode: 'edit', id: props.editId });
  }, [props.editId]);
  const closeForm = (): void => {
    setForm({ mode: 'closed' });
    if (props.editId) window.location.hash = fleetHref.list();
  };

  // Look for new remote backups once per visit; the rows update from fleet:changed events.
  // After the list's first paint: at 200 installations the refresh starts 200 jobs in the core,
  // and asked for at once it delayed the list itself by about a second.
  const loaded = installations !== null;
  const refreshed = useRef(false);
  useEffect(() => {
    if (!loaded) return;
    const frame = requestAnimationFrame(() => {
      if (refreshed.current) return;
      refreshed.current = true;
      api.call('fleet:refresh', {}).catch(setRefreshError);
    });
    return () => cancelAnimationFrame(frame);
  }, [loaded]);

  const onSaved = (installation: Installation, testNow: boolean): void => {
    closeForm();
    setTestError(null);
    if (testNow) startConnectionTest(installation.id).catch(setTestError);
  };

  const addButton = (
    <button type="button" className="button button-primary" onClick={() => setForm({ mode: 'add' })}>
      <PlusIcon width={15} height={15} /> Add installation
    </button>
  );

  return (
    <>
      {loadError ? <ErrorMessage error={loadError} title="Could not load the fleet." /> : null}
      {overviewError ? <ErrorMessage error={overviewError} title="Could not load the backup overview." /> : null}
      {refreshError ? <ErrorMessage error={refreshError} title="Could not look for new backups." /> : null}
      {testError ? <ErrorMessage error={testError} title="Could not start the connection test." /> : null}
      {installations === null ? (
        loadError ? null : <p className="muted" role="status">Loading installations…</p>
      ) : installations.length === 0 ? (
        <EmptyState title="Add your first installation" icon={<FleetIcon width={32} height={32} />} action={addButton}>
          <p>
            An installation is one running copy of a self-hosted app — Nojoin, Weavestream, Loomio, MeshMonitor, DBackup, or
            just a folder of archives — that Lifeboat pulls backups from into its encrypted vault.
          </p>
          <p>You will need:</p>
          <ul>
            <li>
              the <strong>host</strong> name or address of the server (and the SSH port if it is not 22),
            </li>
            <li>
              the <strong>user</strong> Lifeboat logs in as, and how: an SSH <strong>key</strong> file, your SSH agent, or a password,
            </li>
            <li>
              or, for apps with a web API, its <strong>URL</strong> and an API <strong>token</strong>.
            </li>
          </ul>
          <p>Lifeboat tests the connection right away and asks you to confirm the server’s identity the first time.</p>
        </EmptyState>
      ) : (
        <>
          <div className="page-toolbar">
            <FleetSummary installations={installations} overview={overview} filter={filter} onFilter={setFilter} />
            <span className="spacer" />
            <a className="button" href={fleetHref.preview()} title="Or drop a backup file anywhere on the window">
              Open a backup file…
            </a>
            {addButton}
          </div>
          <FleetToolbar installations={installations} view={view} shown={shown} onChange={setView} />
          <div className="fleet-list">
            <div className="fleet-head" aria-hidden="true">
              <span>Installation</span>
              <span>Connection</span>
              <span>Status</span>
              <span>Last checked</span>
              <span />
            </div>
            <FleetVirtualList lines={lines} onEdit={(id) => setForm({ mode: 'edit', id })} />
            {shown === 0 && isFiltered(listView) ? (
              <p className="fleet-filter-empty muted">
                None right now. <button type="button" className="button-link" onClick={() => setView({ ...DEFAULT_VIEW, sort: view.sort, group: view.group })}>Show all installations</button>
              </p>
            ) : null}
          </div>
        </>
      )}
      <Suspense fallback={null}>
        {form.mode === 'add' ? <InstallationFormDialog onClose={() => setForm({ mode: 'closed' })} onSaved={onSaved} /> : null}
        {editing ? <InstallationFormDialog key={editing.id} installation={editing} onClose={closeForm} onSaved={onSaved} /> : null}
      </Suspense>
    </>
  );
}
