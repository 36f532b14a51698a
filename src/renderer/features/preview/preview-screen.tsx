import { InstallationSelect } from '../../components/installation-select';
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { ArchiveSourceRef, PreviewReport } from '../../../shared/apps';
import type { JobRecord } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { startTrackedJob, useJob } from '../fleet/fleet-jobs';
import { fleetHref } from '../fleet/sub-route';
import { RestoreBlockedNote } from '../fleet/restore-blocked';
import { ArchiveFilePicker, pickedLabel, type PickedFile } from './archive-file-picker';
import { PreviewReportView } from './preview-report';
import { KeyFileImportButton } from './key-file-import';

/** Starts a preview job of an archive (the core reads it; we only show the report). */
export function startPreview(source: ArchiveSourceRef): Promise<string> {
  return startTrackedJob(api.call('apps:preview', { source }));
}

/** A finished preview job's report, when it has the expected shape. */
export function previewReportOf(job: JobRecord | undefined): PreviewReport | null {
  if (job?.status !== 'succeeded') return null;
  const r = job.result as Partial<PreviewReport> | null;
  return r && typeof r.fileName === 'string' && Array.isArray(r.integrity?.checks) ? (r as PreviewReport) : null;
}

/** The Preview screen: a vault snapshot (from the fragment) or a local file the operator picks. */
export function PreviewScreen(props: { snapshotId: string | null }): ReactNode {
  return (
    <div className="screen">
      <nav className="crumbs" aria-label="Breadcrumb">
        <a href={fleetHref.list()}>Fleet</a> <span aria-hidden="true">›</span> <span>Preview</span>
      </nav>
      {props.snapshotId ? <SnapshotPreview snapshotId={props.snapshotId} /> : <FilePreview />}
    </div>
  );
}

function SnapshotPreview(props: { snapshotId: string }): ReactNode {
  const { snapshotId } = props;
  const jobId = useStore((s) => s.preview.jobBySnapshot[snapshotId] ?? null);
  const rememberPreview = useStore((s) => s.rememberPreview);
  const snapshot = useStore((s) => s.vault.snapshots?.find((x) => x.id === snapshotId));
  const installation = useStore((s) => s.fleet.installations?.find((i) => i.id === snapshot?.installationId));
  const capabilities = useStore((s) => (snapshot?.installationId ? s.fleet.overview?.[snapshot.installationId]?.capabilities : undefined));
  const [error, setError] = useState<unknown>(null);
  const job = useJob(jobId);

  useEffect(() => {
    if (jobId) return;
    startPreview({ snapshotId }).then((id) => rememberPreview(snapshotId, id), setError);
  }, [jobId, snapshotId, rememberPreview]);

  const again = (): void => {
    setError(null);
    startPreview({ snapshotId }).then((id) => rememberPreview(snapshotId, id), setError);
  };
  return (
    <>
      <div className="page-toolbar">
        <h2>
          Snapshot <code>{snapshotId.slice(0, 8)}</code>
        </h2>
        <span className="spacer" />
        {job && job.status !== 'running' && job.status !== 'queued' ? (
          <button type="button" className="button button-small" onClick={again}>
            Read again
          </button>
        ) : null}
        {installation && capabilities?.restore ? (
          <a className="button button-small" href={fleetHref.restore(installation.id, snapshotId)}>
            Restore…
          </a>
        ) : null}
      </div>
      {installation && capabilities && !capabilities.restore ? <RestoreBlockedNote installation={installation} notes={capabilities.notes} /> : null}
      <PreviewJob job={job} error={error} source={{ snapshotId }} onKeyGiven={again} />
    </>
  );
}

function FilePreview(): ReactNode {
  const [picked, setPicked] = useState<PickedFile | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const job = useJob(jobId);
  const dropped = useStore((s) => s.ui.droppedFile);
  const onPicked = (file: PickedFile): void => {
    setPicked(file);
    setJobId(null);
    setError(null);
    startPreview(file.source).then(setJobId, setError);
  };
  // A file dropped on the window elsewhere arrives here, staged.
  useEffect(() => {
    if (dropped && dropped !== picked) onPicked(dropped);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- only a newly dropped file starts a preview
  }, [dropped]);
  const report = previewReportOf(job);
  return (
    <>
      <div className="page-toolbar">
        <h2>{picked ? pickedLabel(picked) : 'Preview a backup file'}</h2>
      </div>
      <p className="muted">
        Lifeboat reads the archive and says what is inside before anyone trusts it. The file is not added to the vault.
      </p>
      <ArchiveFilePicker label="Choose a backup file…" onPicked={onPicked} />
      {picked?.sidecarNames?.length ? <p className="muted">With its sidecar{picked.sidecarNames.length > 1 ? 's' : ''}: {picked.sidecarNames.join(', ')}</p> : null}
      <PreviewJob job={job} error={error} source={picked?.source} onKeyGiven={() => picked && onPicked(picked)} actions={picked && report ? <FileActions file={picked} report={report} /> : null} />
    </>
  );
}

/** The sidecars of a picked file, as the import command names them. */
function sidecarSources(file: PickedFile): ({ uploadId: string; name: string } | { path: string })[] {
  const source = file.source;
  if ('uploadId' in source) return (source.sidecars ?? []).map((s) => ({ uploadId: s.uploadId, name: s.name }));
  if ('path' in source) return (file.sidecarNames ?? []).map((name) => ({ path: source.path.replace(/[^/\\]*$/, name) }));
  return [];
}

/** What to do with a previewed local file: restore it into an installation of its app, or keep it in the vault. */
function FileActions(props: { file: PickedFile; report: PreviewReport }): ReactNode {
  const { file, report } = props;
  const installations = (useStore((s) => s.fleet.installations) ?? []).filter((i) => i.app === report.app);
  const overview = useStore((s) => s.fleet.overview);
  const canRestore = (id: string): boolean => overview?.[id]?.capabilities.restore ?? false;
  const setDroppedFile = useStore((s) => s.setDroppedFile);
  // The core's suggestion from the archive's facts, else the only installation of the app.
  const suggested = installations.find((i) => i.id === report.suggestedInstallation?.installationId) ?? null;
  const [target, setTarget] = useState(suggested?.id ?? (installations.length === 1 ? installations[0]!.id : ''));
  const [importJobId, setImportJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const importJob = useJob(importJobId);
  const source = file.source;
  const addToVault = (): void => {
    if (!('uploadId' in source) && !('path' in source)) return;
    setError(null);
    const archive = 'uploadId' in source ? { uploadId: source.uploadId, name: source.name } : { path: source.path };
    startTrackedJob(api.call('vault:import', { source: archive, sidecars: sidecarSources(file), ...(target ? { installationId: target } : {}) })).then(setImportJobId, setError);
  };
  return (
    <section className="card file-actions" aria-label="What to do with this file">
      <h3>Restore to…</h3>
      {installations.length === 0 ? (
        <p className="muted">No installation runs {report.app}: add one on the Fleet page to restore this file into it.</p>
      ) : (
        <ul className="file-actions-list">
          {installations.map((i) =>
            canRestore(i.id) ? (
              // The wizard takes the dropped file as its source.
              <li key={i.id}>
                <a className="button button-small" href={fleetHref.restore(i.id)} onClick={() => setDroppedFile(file)}>
                  Restore into {i.name}…
                </a>
              </li>
            ) : (
              <li key={i.id}>
                <RestoreBlockedNote installation={i} notes={overview?.[i.id]?.capabilities.notes ?? []} />
              </li>
            ),
          )}
        </ul>
      )}
      <h3>Add to vault</h3>
      {importJob ? (
        <JobSummary job={importJob} />
      ) : (
        <div className="toolbar">
          <label className="vault-inline-field">
            <span>As a backup of</span>
            <InstallationSelect installations={installations} value={target} onChange={setTarget} noneLabel="No installation (a local import)" />
          </label>
          <button type="button" className="button" onClick={addToVault}>
            Add to vault
          </button>
        </div>
      )}
      {!importJob && suggested && report.suggestedInstallation ? (
        <p className="muted" data-testid="installation-suggestion">
          Suggested: {suggested.name}, because {report.suggestedInstallation.reason}.
        </p>
      ) : null}
      {error ? <ErrorMessage error={error} title="Could not add it to the vault." /> : null}
    </section>
  );
}

/** The preview job while it runs (or why it failed), then its report. */
function PreviewJob(props: { job: JobRecord | undefined; error: unknown; source?: ArchiveSourceRef | undefined; onKeyGiven?: () => void; actions?: ReactNode }): ReactNode {
  const report = previewReportOf(props.job);
  const keyNeeded = props.job?.status === 'failed' && props.job.error?.code === 'KEY_REQUIRED' ? props.job.error : null;
  // Asked for when no key was known, and again when the one given does not open the archive.
  const ask = keyNeeded ? { slot: String(keyNeeded.details?.slot ?? ''), label: String(keyNeeded.details?.label ?? 'key'), message: null } : report?.keyRejected ?? null;
  return (
    <>
      {props.error ? <ErrorMessage error={props.error} title="Could not start the preview." /> : null}
      {props.job && !report ? <JobSummary job={props.job} /> : null}
      {ask && props.onKeyGiven ? <KeyPrompt slot={ask.slot} label={ask.label} rejected={ask.message} onGiven={props.onKeyGiven} /> : null}
      {report ? <PreviewReportView report={report} {...(props.source ? { source: props.source } : {})} actions={props.actions} /> : null}
    </>
  );
}

/** Asks for the key an encrypted archive needs; the core keeps it in memory for this session only. */
export function KeyPrompt(props: { slot: string; label: string; rejected: string | null; onGiven: () => void }): ReactNode {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  // Apps whose own key file (DBackup's Recovery Kit) can fill this slot.
  const keyFileApps = useStore((s) => s.system.modules).filter((m) => m.keyFile && m.secretSlots.some((slot) => slot.keyed && props.slot.startsWith(`${slot.slot}:`)));
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    setError(null);
    api.call('apps:provide-key', { slot: props.slot, key: key.trim() }).then(() => {
      setKey('');
      props.onGiven();
    }, setError);
  };
  return (
    <form className="card key-prompt" aria-label="Key needed" onSubmit={submit}>
      {props.rejected ? <p className="alert alert-danger">{props.rejected}</p> : null}
      <label className="field">
        <span>{props.label}</span>
        <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} spellCheck={false} />
        <span className="field-hint">Kept in memory for this session only, never written anywhere. To keep it, store it on the installation.</span>
      </label>
      <div className="key-actions">
        <button type="submit" className="button button-primary" disabled={key.trim() === ''}>
          Read it with this key
        </button>
        {keyFileApps.map((m) => (
          <KeyFileImportButton key={m.kind} app={m.kind} slot={props.slot} onImported={(r) => r.keys.some((k) => k.slot === props.slot) && props.onGiven()} />
        ))}
      </div>
      {error ? <ErrorMessage error={error} title="The key was not taken." /> : null}
    </form>
  );
}
