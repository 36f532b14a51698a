import { useState, type ReactNode } from 'react';
import type { DrillResult } from '../../../shared/drills';
import type { JobRecord } from '../../../shared/jobs';
import type { SnapshotView } from '../../../shared/vault';
import { ConfirmDialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { api, downloadSnapshotArchive, transportKind } from '../../lib/api';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { useJob } from '../fleet/fleet-jobs';
import { fleetHref } from '../fleet/sub-route';
import { snapshotName } from './snapshot-labels';
import { useAction } from './use-action';
import { startVaultJob } from './vault-jobs';

/**
 * What can be done with a snapshot, at the top of its details: preview it, restore it into the
 * installation it came from (when that installation is still in the fleet and can restore), export
 * its archive as a file, drill it (when its app's module can), and forget it (after a confirmation).
 */
export function SnapshotActions(props: { snapshot: SnapshotView }): ReactNode {
  const { snapshot } = props;
  const installation = useStore((s) => (snapshot.installationId ? s.fleet.installations?.find((i) => i.id === snapshot.installationId) : undefined));
  const canRestore = useStore((s) => (snapshot.installationId ? s.fleet.overview?.[snapshot.installationId]?.capabilities.restore === true : false));
  const canDrill = useStore((s) => s.system.modules?.find((m) => m.kind === snapshot.app)?.drill === true);
  const [drillJobId, setDrillJobId] = useState<string | null>(null);
  const [confirmForget, setConfirmForget] = useState(false);
  const archive = snapshot.archive;
  const exportFile = useAction(async () => {
    if (archive) await downloadSnapshotArchive(snapshot.id, archive.name);
  });
  const drill = useAction(async () => {
    setDrillJobId(await startVaultJob(api.call('drills:run', { snapshotId: snapshot.id })));
  });
  const forget = useAction(async () => {
    await api.call('vault:forget-snapshot', { snapshotId: snapshot.id });
    setConfirmForget(false);
  });
  const drillJob = useJob(drillJobId);
  const label = snapshot.shortId;
  return (
    <>
      <div className="snapshot-actions" role="group" aria-label={`Actions for snapshot ${label}`}>
        <a className="button button-small button-primary" href={fleetHref.preview(snapshot.id)} aria-label={`Preview snapshot ${label}`}>
          Preview
        </a>
        {installation && canRestore ? (
          <a className="button button-small" href={fleetHref.restore(installation.id, snapshot.id)} aria-label={`Restore snapshot ${label} into ${installation.name}…`}>
            Restore…
          </a>
        ) : null}
        {archive && transportKind() === 'twin' ? (
          <button type="button" className="button button-small" onClick={() => exportFile.run()} disabled={exportFile.busy} aria-label={`Export file ${archive.name} from snapshot ${label}`}>
            {exportFile.busy ? 'Exporting…' : 'Export file'}
          </button>
        ) : null}
        {canDrill ? (
          <button type="button" className="button button-small" onClick={() => drill.run()} disabled={drill.busy || (drillJob !== undefined && drillJob.finishedAt === null)} aria-label={`Drill snapshot ${label}`}>
            Drill
          </button>
        ) : null}
        <button type="button" className="button button-small button-danger-quiet" onClick={() => setConfirmForget(true)} aria-label={`Forget snapshot ${label}…`}>
          Forget…
        </button>
        {installation && canRestore ? null : (
          <span className="muted snapshot-actions-note">
            {installation ? `${installation.name} cannot be restored into by Lifeboat.` : 'Its installation is not in the fleet: preview it, or open the file to restore it elsewhere.'}
          </span>
        )}
      </div>
      {exportFile.error ? <ErrorMessage error={exportFile.error} title="Could not export the file." /> : null}
      {drill.error ? <ErrorMessage error={drill.error} title="Could not start the drill." /> : null}
      {drillJob ? (
        <JobSummary job={drillJob} showBytes={false}>
          <DrillVerdict job={drillJob} />
        </JobSummary>
      ) : null}
      {confirmForget ? (
        <ConfirmDialog title={`Forget snapshot ${label}?`} confirmLabel="Forget snapshot" busy={forget.busy} onCancel={() => setConfirmForget(false)} onConfirm={() => forget.run()}>
          <p>
            The vault stops keeping “{snapshotName(snapshot)}” from {snapshot.hostname}: it can no longer be previewed, restored or exported.
            Its space is freed by the next “Free space” run. The installation’s own copy, if it still has one, is not touched.
          </p>
          {forget.error ? <ErrorMessage error={forget.error} title="Could not forget it." /> : null}
        </ConfirmDialog>
      ) : null}
    </>
  );
}

/** What a finished drill found, in one line. */
function DrillVerdict(props: { job: JobRecord }): ReactNode {
  const result = props.job.result as Partial<DrillResult> | null;
  if (!result || typeof result.restorable !== 'boolean') return null;
  return result.restorable ? (
    <p className="vault-check-ok" role="status">
      <strong>Restorable.</strong>{' '}
      {result.kind === 'postgres'
        ? `Restored into ${result.target ?? 'a throwaway database'} and checked there; production was not touched.`
        : 'A structural drill: every row read back and validated, without a scratch instance; production was not touched.'}
    </p>
  ) : (
    <p className="alert alert-danger" role="alert">
      <strong>Not restorable.</strong> {result.failure?.message ?? 'A check failed.'}
    </p>
  );
}
