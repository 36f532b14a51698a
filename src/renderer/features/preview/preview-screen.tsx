import { useEffect, useState, type ReactNode } from 'react';
import type { ArchiveSourceRef, PreviewReport } from '../../../shared/apps';
import type { JobRecord } from '../../../shared/jobs';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { startTrackedJob, useJob } from '../fleet/fleet-jobs';
import { fleetHref } from '../fleet/sub-route';
import { ArchiveFilePicker, pickedLabel, type PickedFile } from './archive-file-picker';
import { PreviewReportView } from './preview-report';

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
        {snapshot?.installationId ? (
          <a className="button button-small" href={fleetHref.restore(snapshot.installationId, snapshotId)}>
            Restore…
          </a>
        ) : null}
      </div>
      <PreviewJob job={job} error={error} />
    </>
  );
}

function FilePreview(): ReactNode {
  const [picked, setPicked] = useState<PickedFile | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const job = useJob(jobId);
  const onPicked = (file: PickedFile): void => {
    setPicked(file);
    setJobId(null);
    setError(null);
    startPreview(file.source).then(setJobId, setError);
  };
  return (
    <>
      <div className="page-toolbar">
        <h2>{picked ? pickedLabel(picked) : 'Preview a backup file'}</h2>
      </div>
      <p className="muted">
        Lifeboat reads the archive and says what is inside before anyone trusts it. The file is not added to the vault.
      </p>
      <ArchiveFilePicker label="Choose a backup file…" onPicked={onPicked} />
      <PreviewJob job={job} error={error} />
    </>
  );
}

/** The preview job while it runs (or why it failed), then its report. */
function PreviewJob(props: { job: JobRecord | undefined; error: unknown }): ReactNode {
  const report = previewReportOf(props.job);
  return (
    <>
      {props.error ? <ErrorMessage error={props.error} title="Could not start the preview." /> : null}
      {props.job && !report ? <JobSummary job={props.job} /> : null}
      {report ? <PreviewReportView report={report} /> : null}
    </>
  );
}
