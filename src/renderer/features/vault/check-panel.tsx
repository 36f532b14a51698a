import type { ReactNode } from 'react';
import { isFinished } from '../../../shared/jobs';
import type { CheckReportView } from '../../../shared/vault';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { snapshotName } from './snapshot-labels';
import { useAction } from './use-action';
import { checkReportOf, startVaultJob, useNewestJobs } from './vault-jobs';

/** What a check found, in plain words, naming the snapshot each problem is in. */
function CheckReport(props: { report: CheckReportView }): ReactNode {
  const snapshots = useStore((s) => s.vault.snapshots);
  const { report } = props;
  const stat = (key: string): number => report.stats[key] ?? 0;
  const scope = `${stat('snapshots')} snapshot(s), ${stat('packs')} pack file(s), ${stat('blobs')} blob(s)`;
  if (report.ok) {
    return (
      <p className="vault-check-ok" role="status">
        <strong>No problems found.</strong> Checked {scope}
        {report.readData ? `, and read and verified every byte of data (${formatBytes(stat('bytesRead'))}).` : '. Data was not read: use “Check and read all data” to verify every byte.'}
      </p>
    );
  }
  const named = (id: string | undefined): string => {
    if (!id) return 'The vault';
    const snapshot = snapshots?.find((s) => s.id === id || s.id.startsWith(id));
    return snapshot ? `Snapshot ${snapshot.shortId} (${snapshotName(snapshot)}, ${snapshot.hostname})` : `Snapshot ${id.slice(0, 8)}`;
  };
  return (
    <div className="alert alert-danger" role="alert">
      <strong>
        {report.problems.length} problem{report.problems.length === 1 ? '' : 's'} found
      </strong>{' '}
      (checked {scope}):
      <ul className="vault-problems">
        {report.problems.map((p, i) => (
          <li key={i}>
            {named(p.snapshotId)}: {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** "Check vault" (structure) and "Check and read all data", with the newest check's progress and result. */
export function CheckPanel(): ReactNode {
  const [latest] = useNewestJobs('vault-check', 1);
  const start = useAction(async (readData: boolean) => {
    await startVaultJob(api.call('vault:check', { readData }));
  });
  const running = latest !== undefined && !isFinished(latest.status);
  const report = latest ? checkReportOf(latest) : null;
  return (
    <section className="card" aria-labelledby="vault-check-h">
      <div className="vault-section-head">
        <h2 id="vault-check-h">Integrity</h2>
        <span className="spacer" />
        <button type="button" className="button" onClick={() => start.run(false)} disabled={running || start.busy}>
          Check vault
        </button>
        <button type="button" className="button" onClick={() => start.run(true)} disabled={running || start.busy}>
          Check and read all data
        </button>
      </div>
      <p className="muted">
        A check reads the vault’s index and every snapshot’s structure; reading all data also decrypts and hashes every stored
        byte, which takes as long as reading the whole vault.
      </p>
      {start.error ? <ErrorMessage error={start.error} title="Could not start the check." /> : null}
      {latest ? <JobSummary job={latest} showBytes={false}>{report ? <CheckReport report={report} /> : null}</JobSummary> : null}
    </section>
  );
}
