import type { ReactNode } from 'react';
import type { PreviewReport, RestorePlan, RestoreReport } from '../../../shared/apps';
import { TextWithTimes } from '../../components/when';
import { useAppLabel } from '../../lib/app-labels';
import { useStore } from '../../stores/store';
import { fleetHref } from '../fleet/sub-route';
import { restoreBlockedReason } from '../fleet/restore-blocked';

/** How many items of a list the card names before "and N more". */
const SHOWN = 3;

/** The verdict's colour: intact and verified, a warning to read, or not to be trusted. */
type VerdictTone = 'ok' | 'warn' | 'danger';

/** A card at the top of a preview or restore report: the answer first, its reasons in a few lines, the details below it. */
function VerdictCard(props: { tone: VerdictTone; headline: string; label: string; children: ReactNode }): ReactNode {
  return (
    <section className={`verdict verdict-${props.tone}`} aria-label={props.label} data-verdict={props.tone}>
      <p className="verdict-headline">
        <span className="verdict-mark" aria-hidden="true">
          {props.tone === 'ok' ? '✓' : props.tone === 'warn' ? '!' : '✗'}
        </span>{' '}
        <strong>{props.headline}</strong>
      </p>
      <dl className="verdict-facts">{props.children}</dl>
    </section>
  );
}

function Fact(props: { term: string; children: ReactNode }): ReactNode {
  return (
    <div className="verdict-fact">
      <dt>{props.term}</dt>
      <dd>{props.children}</dd>
    </div>
  );
}

/** The first few items, one a line, then how many more and where they are listed. */
function Some(props: { items: string[]; more: string }): ReactNode {
  const shown = props.items.slice(0, SHOWN);
  const rest = props.items.length - shown.length;
  return (
    <ul className="verdict-list">
      {shown.map((item, i) => (
        <li key={i}>
          <TextWithTimes text={item} />
        </li>
      ))}
      {rest > 0 ? (
        <li className="muted">
          and {rest} more ({props.more})
        </li>
      ) : null}
    </ul>
  );
}

/**
 * A preview's verdict: whether the archive is intact, which installations of the fleet can take it,
 * what it does not hold, and what a target needs to restore it.
 */
export function PreviewVerdict(props: { report: PreviewReport }): ReactNode {
  const { report } = props;
  const appName = useAppLabel(report.app);
  const installations = (useStore((s) => s.fleet.installations) ?? []).filter((i) => i.app === report.app);
  const overview = useStore((s) => s.fleet.overview);
  const failed = report.integrity.checks.filter((c) => !c.ok && !c.skipped);
  const skipped = report.integrity.checks.filter((c) => c.skipped);
  const intact = report.integrity.ok && failed.length === 0;
  const restorable = installations.filter((i) => overview?.[i.id]?.capabilities.restore);
  const blocked = installations.filter((i) => overview?.[i.id] && !overview[i.id]!.capabilities.restore);
  const unmet = report.compatibility.filter((c) => c.ok === false);
  const needs = [...report.compatibility.filter((c) => c.ok !== true).map((c) => `${c.label}: ${c.value}`), ...report.secrets];
  const tone: VerdictTone = !intact ? 'danger' : unmet.length > 0 || skipped.length > 0 || report.warnings.length > 0 ? 'warn' : 'ok';
  const headline = !intact
    ? `Not intact: ${failed.length} check${failed.length === 1 ? '' : 's'} failed — do not restore it`
    : skipped.length > 0
      ? `Intact as far as checked: ${skipped.length} check${skipped.length === 1 ? '' : 's'} could not run`
      : `Intact: all ${report.integrity.checks.length} check${report.integrity.checks.length === 1 ? '' : 's'} passed`;
  return (
    <VerdictCard tone={tone} headline={headline} label="Verdict">
      {!intact ? (
        <Fact term="Failed">
          <Some items={failed.map((c) => `${c.name}: ${c.detail}`)} more="see Integrity below" />
        </Fact>
      ) : null}
      <Fact term="Restorable to">
        {!intact ? (
          'none: a restore refuses an archive that fails its checks'
        ) : restorable.length > 0 ? (
          restorable.map((i, index) => (
            <span key={i.id}>
              {index > 0 ? ', ' : ''}
              {/* A snapshot links into its wizard; a local file is handed to the wizard by the Restore into … buttons below. */}
              {report.source.kind === 'snapshot' ? <a href={fleetHref.restore(i.id, report.source.snapshotId)}>{i.name}</a> : i.name}
            </span>
          ))
        ) : installations.length === 0 ? (
          `no ${appName} installation in the fleet yet`
        ) : (
          'no installation in the fleet can restore it yet'
        )}
        {intact && blocked.length > 0 ? (
          <span className="muted">
            {' '}
            — not {blocked.map((i) => `${i.name} (${restoreBlockedReason(overview?.[i.id]?.capabilities.notes ?? []).replace(/\.$/, '')})`).join(', ')}
          </span>
        ) : null}
      </Fact>
      {report.warnings.length > 0 ? (
        <Fact term="Read first">
          <Some items={report.warnings} more="Warnings under Summary" />
        </Fact>
      ) : null}
      <Fact term="Not inside">{report.notIncluded.length === 0 ? 'nothing known to be left out' : <Some items={report.notIncluded} more="Secrets & not included tab" />}</Fact>
      <Fact term="The target needs">{needs.length === 0 ? 'nothing beyond a running installation' : <Some items={needs} more="Compatibility and Secrets tabs" />}</Fact>
    </VerdictCard>
  );
}

const RESTORE_HEADLINE: Record<RestoreReport['outcome'], (name: string) => string> = {
  verified: (name) => `Restored and verified: ${name} is back to the backup`,
  unverified: (name) => `Restored into ${name}, but not every check could run`,
  'verification-failed': (name) => `Restored into ${name}, but verification failed`,
  failed: (name) => `The restore of ${name} failed`,
  cancelled: (name) => `The restore of ${name} was cancelled`,
  interrupted: (name) => `The restore of ${name} was interrupted before it ended`,
};

/** A restore report's verdict: how it ended, what the checks say, the way back, what is left to do. */
export function RestoreVerdict(props: { plan: RestorePlan; report: RestoreReport }): ReactNode {
  const { plan, report } = props;
  const failed = report.checks.filter((c) => !c.ok && !c.skipped);
  const skipped = report.checks.filter((c) => c.skipped);
  const passed = report.checks.filter((c) => c.ok && !c.skipped);
  const tone: VerdictTone = report.outcome === 'verified' ? 'ok' : report.outcome === 'unverified' || report.outcome === 'cancelled' ? 'warn' : 'danger';
  return (
    <VerdictCard tone={tone} headline={RESTORE_HEADLINE[report.outcome](plan.installationName)} label="Verdict">
      <Fact term="Restored">
        <span className="wrap-anywhere">
          <TextWithTimes text={plan.sourceLabel} />
        </span>, {plan.mode}
        {plan.selection.length ? ` (${plan.selection.length} chosen)` : ''}
      </Fact>
      <Fact term="Checks">
        {passed.length} passed
        {failed.length ? `, ${failed.length} failed` : ''}
        {skipped.length ? `, ${skipped.length} not checked` : ''}
        {failed.length ? (
          <>
            {': '}
            <Some items={failed.map((c) => `${c.name}: ${c.detail}`)} more="see below" />
          </>
        ) : null}
      </Fact>
      <Fact term="Way back">{report.safetySnapshotId ? `the safety snapshot ${report.safetySnapshotId.slice(0, 8)} (Undo below)` : `none: ${report.safetyPullSkipped ?? 'no safety snapshot was made'}`}</Fact>
      <Fact term="Still to do">{report.followUps.length === 0 ? 'nothing' : `${report.followUps.length} step${report.followUps.length === 1 ? '' : 's'} (checklist below)`}</Fact>
    </VerdictCard>
  );
}
