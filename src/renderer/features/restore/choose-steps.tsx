/** The wizard's first three steps: which archive, into which installation, how much of it. */
import { useEffect, useState, type ReactNode } from 'react';
import { When } from '../../components/when';
import type { RestoreOptions } from '../../../shared/apps';
import type { AppKind } from '../../../shared/installations';
import { useAppLabel } from '../../lib/app-labels';
import type { SnapshotView } from '../../../shared/vault';
import { ErrorMessage } from '../../components/error-message';
import { formatBytes } from '../../lib/format';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { useJob } from '../fleet/fleet-jobs';
import { ArchiveFilePicker, pickedLabel } from '../preview/archive-file-picker';
import { previewReportOf, startPreview } from '../preview/preview-screen';
import { isCrossInstallation, sourceRef, type WizardChoices } from './wizard-model';

type Update = (patch: Partial<WizardChoices>) => void;

/** Step 1: a vault snapshot of this app kind, or a local file. */
export function SourceStep(props: { app: AppKind; choices: WizardChoices; update: Update }): ReactNode {
  const { app, choices, update } = props;
  const snapshots = useStore((s) => s.vault.snapshots);
  const vaultOpen = useStore((s) => s.vault.status?.open ?? false);
  const installations = useStore((s) => s.fleet.installations);
  const candidates = (snapshots ?? []).filter((s) => s.app === app);
  const appName = useAppLabel(app);
  const chosenId = choices.source?.kind === 'snapshot' ? choices.source.snapshot.id : null;
  const nameOf = (snapshot: SnapshotView): string => installations?.find((i) => i.id === snapshot.installationId)?.name ?? snapshot.hostname;

  return (
    <fieldset className="wizard-fieldset">
      <legend>Which backup do you want to restore?</legend>
      {!vaultOpen ? (
        <p className="alert alert-info">
          The vault is not open, so its snapshots cannot be listed. Open it on the <a href="#/vault">Vault</a> page, or restore from a local file.
        </p>
      ) : candidates.length === 0 ? (
        <p className="muted">The vault holds no {appName} snapshots yet. Pull one from the Fleet page, or use a local file.</p>
      ) : (
        <ul className="choice-list" aria-label="Vault snapshots">
          {candidates.map((s) => (
            <li key={s.id}>
              <label className="choice">
                <input type="radio" name="restore-source" checked={chosenId === s.id} onChange={() => update({ source: { kind: 'snapshot', snapshot: s } })} />
                <span className="choice-main">
                  <span className="mono">{s.archive?.name ?? s.shortId}</span>
                  <span className="muted">
                    {' '}
                    {nameOf(s)} · <When iso={s.time} />
                    {s.archive ? ` · ${formatBytes(s.archive.size)}` : ''} · {s.source}
                  </span>
                </span>
                <code className="choice-side">{s.shortId}</code>
              </label>
            </li>
          ))}
        </ul>
      )}
      <div className="wizard-or">
        <ArchiveFilePicker label="Or restore a local file…" onPicked={(file) => update({ source: { kind: 'file', file } })} />
        {choices.source?.kind === 'file' ? (
          <p>
            Chosen file: <strong>{pickedLabel(choices.source.file)}</strong>
          </p>
        ) : null}
      </div>
    </fieldset>
  );
}

/** Step 2: an installation of the same app; another one than the snapshot's needs a second yes. */
export function TargetStep(props: { app: AppKind; choices: WizardChoices; update: Update }): ReactNode {
  const { app, choices, update } = props;
  const installations = useStore((s) => s.fleet.installations) ?? [];
  const overview = useStore((s) => s.fleet.overview);
  const candidates = installations.filter((i) => i.app === app);
  const snapshot = choices.source?.kind === 'snapshot' ? choices.source.snapshot : null;
  const fromName = snapshot ? (installations.find((i) => i.id === snapshot.installationId)?.name ?? snapshot.hostname) : null;
  const target = candidates.find((i) => i.id === choices.targetId);
  const appName = useAppLabel(app);
  return (
    <fieldset className="wizard-fieldset">
      <legend>Restore into which {appName} installation?</legend>
      <ul className="choice-list" aria-label="Target installations">
        {candidates.map((i) => {
          const caps = overview?.[i.id]?.capabilities;
          const can = caps?.restore ?? true;
          return (
            <li key={i.id}>
              <label className="choice">
                <input type="radio" name="restore-target" checked={choices.targetId === i.id} disabled={!can} onChange={() => update({ targetId: i.id, crossConfirmed: false })} />
                <span className="choice-main">
                  <strong>{i.name}</strong>
                  {!can ? <span className="muted"> — {caps?.notes.join(' ') || 'cannot restore'}</span> : null}
                </span>
              </label>
            </li>
          );
        })}
      </ul>
      {isCrossInstallation(choices) && target ? (
        <div className="alert alert-warn" role="note">
          <p>
            This backup came from <strong>{fromName}</strong>, not from <strong>{target.name}</strong>. Restoring it replaces {target.name}’s data with
            another installation’s.
          </p>
          <label className="checkbox">
            <input type="checkbox" checked={choices.crossConfirmed} onChange={(e) => update({ crossConfirmed: e.target.checked })} />
            Yes, restore the backup of {fromName} into {target.name}
          </label>
        </div>
      ) : null}
    </fieldset>
  );
}

/**
 * Step 3: the scopes the target's module offers (a scope that chooses items lists what the archive
 * holds, read by a preview job), and its conflict policy when it has one.
 */
export function ModeStep(props: { options: RestoreOptions; choices: WizardChoices; update: Update }): ReactNode {
  const { options, choices, update } = props;
  const modes = options.scopes;
  const scope = modes.find((m) => m.id === choices.mode);
  return (
    <fieldset className="wizard-fieldset">
      <legend>How much of the backup?</legend>
      <RadioChoices name="restore-mode" label="Restore modes" items={modes} chosen={choices.mode} onChoose={(mode) => update({ mode })} />
      {scope?.selectable && choices.source ? <SelectableItems choices={choices} update={update} /> : null}
      {options.conflict ? (
        <fieldset className="wizard-fieldset">
          <legend>{options.conflict.label}</legend>
          <RadioChoices name="restore-conflict" label={options.conflict.label} items={options.conflict.policies} chosen={choices.conflict ?? options.conflict.default} onChoose={(conflict) => update({ conflict })} />
        </fieldset>
      ) : null}
    </fieldset>
  );
}

/** One choice among labelled, described options, as radio buttons. */
function RadioChoices(props: { name: string; label: string; items: { id: string; label: string; description: string }[]; chosen: string; onChoose: (id: string) => void }): ReactNode {
  return (
    <ul className="choice-list" aria-label={props.label}>
      {props.items.map((item) => (
        <li key={item.id}>
          <label className="choice">
            <input type="radio" name={props.name} checked={props.chosen === item.id} onChange={() => props.onChoose(item.id)} />
            <span className="choice-main">
              <strong>{item.label}</strong>
              <span className="muted"> — {item.description}</span>
            </span>
          </label>
        </li>
      ))}
    </ul>
  );
}

function SelectableItems(props: { choices: WizardChoices; update: Update }): ReactNode {
  const { choices, update } = props;
  const source = choices.source;
  const cachedJob = useStore((s) => (source?.kind === 'snapshot' ? (s.preview.jobBySnapshot[source.snapshot.id] ?? null) : null));
  const rememberPreview = useStore((s) => s.rememberPreview);
  const [ownJob, setOwnJob] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const jobId = cachedJob ?? ownJob;
  const job = useJob(jobId);
  const report = previewReportOf(job);

  useEffect(() => {
    if (jobId || !source) return;
    startPreview(sourceRef(source)).then((id) => {
      if (source.kind === 'snapshot') rememberPreview(source.snapshot.id, id);
      else setOwnJob(id);
    }, setError);
  }, [jobId, source, rememberPreview]);

  if (error) return <ErrorMessage error={error} title="Could not read the archive's contents." />;
  if (!report) return job ? <JobSummary job={job} /> : <p className="muted">Reading the archive…</p>;
  const chosen = new Set(choices.selection);
  const toggle = (item: string, on: boolean): void => update({ selection: report.selectable.filter((s) => (s === item ? on : chosen.has(s))) });
  return (
    <div className="selectable">
      <div className="selectable-head">
        <span>
          {chosen.size} of {report.selectable.length} chosen
        </span>
        <button type="button" className="button button-small button-ghost" onClick={() => update({ selection: [...report.selectable] })}>
          All
        </button>
        <button type="button" className="button button-small button-ghost" onClick={() => update({ selection: [] })}>
          None
        </button>
      </div>
      <ul className="selectable-list" aria-label="Items to restore">
        {report.selectable.map((item) => (
          <li key={item}>
            <label className="checkbox">
              <input type="checkbox" checked={chosen.has(item)} onChange={(e) => toggle(item, e.target.checked)} />
              <span className="mono">{item}</span>
            </label>
          </li>
        ))}
      </ul>
    </div>
  );
}
