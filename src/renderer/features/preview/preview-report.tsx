import { useId, useState, type ReactNode } from 'react';
import { TextWithTimes, When } from '../../components/when';
import type { ArchiveSourceRef, PreviewReport } from '../../../shared/apps';
import { MediaList } from './media-list';
import { useAppLabel } from '../../lib/app-labels';
import { Pill } from '../../components/pill';
import { formatBytes } from '../../lib/format';
import { CheckList } from './check-list';
import { ContentsTableView } from './contents-table';
import { PreviewVerdict } from './verdict-card';
import { CompatibilityPanel } from './compatibility-panel';

const TABS = [
  { id: 'summary', label: 'Summary' },
  { id: 'contents', label: 'Contents' },
  { id: 'listen', label: 'Listen' },
  { id: 'secrets', label: 'Secrets & not included' },
  { id: 'compatibility', label: 'Compatibility' },
  { id: 'raw', label: 'Raw sidecars' },
] as const;
type TabId = (typeof TABS)[number]['id'];

/**
 * What an archive holds, in tabs. Everything in a report comes from the archive or the server,
 * so it is shown as text only (React escapes it; nothing uses innerHTML).
 */
/** `actions`: what can be done with the archive, shown under the verdict (a local file's Restore to… and Add to vault). */
export function PreviewReportView(props: { report: PreviewReport; source?: ArchiveSourceRef; actions?: ReactNode }): ReactNode {
  const { report, source } = props;
  const [tab, setTab] = useState<TabId>('summary');
  const base = useId();
  // Listening needs the archive's reference (a ticket is issued for it) and something to play.
  const tabs = TABS.filter((t) => t.id !== 'listen' || (source !== undefined && (report.media?.length ?? 0) > 0));
  const move = (delta: number): void => {
    const index = tabs.findIndex((t) => t.id === tab);
    const next = tabs[(index + delta + tabs.length) % tabs.length];
    if (next) {
      setTab(next.id);
      document.getElementById(`${base}-tab-${next.id}`)?.focus();
    }
  };
  return (
    <section className="preview-report" aria-label={`Preview of ${report.fileName}`}>
      <PreviewVerdict report={report} />
      {props.actions}
      <div
        className="tabs"
        role="tablist"
        aria-label="Preview sections"
        onKeyDown={(e) => {
          if (e.key === 'ArrowRight') move(1);
          if (e.key === 'ArrowLeft') move(-1);
        }}
      >
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`${base}-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`${base}-panel`}
            tabIndex={tab === t.id ? 0 : -1}
            className="tab"
            onClick={() => setTab(t.id)}
          >
            {t.label}
            {t.id === 'secrets' && report.secrets.length > 0 ? <span className="tab-count">{report.secrets.length}</span> : null}
          </button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${tab}`}>
        <Panel tab={tab} report={report} source={source} />
      </div>
    </section>
  );
}

function Panel(props: { tab: TabId; report: PreviewReport; source: ArchiveSourceRef | undefined }): ReactNode {
  const { report } = props;
  switch (props.tab) {
    case 'listen':
      return props.source && report.media ? <MediaList source={props.source} app={report.app} items={report.media} /> : null;
    case 'summary':
      return <Summary report={report} />;
    case 'contents':
      return <ContentsTableView table={report.contents} />;
    case 'secrets':
      return (
        <div className="preview-columns">
          <div>
            <h3>Secrets</h3>
            <TextList items={report.secrets} empty="No secrets inside, and none a restore needs." />
          </div>
          <div>
            <h3>Not included</h3>
            <TextList items={report.notIncluded} empty="Nothing known to be left out." />
          </div>
        </div>
      );
    case 'compatibility':
      return <CompatibilityPanel report={report} source={props.source} />;
    case 'raw':
      return report.sidecars.length === 0 ? (
        <p className="muted">This archive came with no sidecar files.</p>
      ) : (
        <>
          {report.sidecars.map((s) => (
            <details key={s.name} className="sidecar" open={report.sidecars.length === 1}>
              <summary className="mono">{s.name}</summary>
              <pre>{s.text}</pre>
            </details>
          ))}
        </>
      );
    default:
      return null;
  }
}

function Summary(props: { report: PreviewReport }): ReactNode {
  const { report } = props;
  const failed = report.integrity.checks.filter((c) => !c.ok).length;
  const appName = useAppLabel(report.app);
  return (
    <div className="preview-summary">
      <dl className="facts">
        <dt>App</dt>
        <dd>
          {appName}
          {report.appVersion ? ` ${report.appVersion}` : ''}
        </dd>
        <dt>File</dt>
        <dd className="mono wrap-anywhere">{report.fileName}</dd>
        <dt>Made</dt>
        <dd>{report.createdAt ? <When iso={report.createdAt} /> : 'unknown'}</dd>
        <dt>Size</dt>
        <dd>{formatBytes(report.sizeBytes)}</dd>
        <dt>From</dt>
        <dd>{report.source.kind === 'snapshot' ? <>vault snapshot <code>{report.source.snapshotId.slice(0, 8)}</code></> : <>local file {report.source.name}</>}</dd>
        {report.summary.map((f) => (
          <FactRow key={f.label} label={f.label} value={f.value} />
        ))}
      </dl>
      <div className="integrity" data-testid="integrity">
        <h3>
          Integrity{' '}
          <Pill tone={report.integrity.ok ? 'ok' : 'danger'}>{report.integrity.ok ? '✓ verified' : `✗ ${failed} check${failed === 1 ? '' : 's'} failed`}</Pill>
        </h3>
        <CheckList checks={report.integrity.checks} label="Integrity checks" />
      </div>
      {report.warnings.length > 0 ? (
        <div className="alert alert-warn" role="note">
          <strong>Warnings</strong>
          <TextList items={report.warnings} empty="" />
        </div>
      ) : null}
    </div>
  );
}

function FactRow(props: { label: string; value: string }): ReactNode {
  return (
    <>
      <dt>{props.label}</dt>
      <dd><TextWithTimes text={props.value} /></dd>
    </>
  );
}

function TextList(props: { items: string[]; empty: string }): ReactNode {
  if (props.items.length === 0) return <p className="muted">{props.empty}</p>;
  return (
    <ul className="text-list">
      {props.items.map((item, index) => (
        <li key={index}><TextWithTimes text={item} /></li>
      ))}
    </ul>
  );
}
