import { useState, type FormEvent, type ReactNode } from 'react';
import { When } from '../../components/when';
import { isFinished } from '../../../shared/jobs';
import { retentionPolicySchema, type ForgetPreview, type RetentionPolicyInput } from '../../../shared/vault';
import { ConfirmDialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { Field } from '../../components/field';
import { Pill } from '../../components/pill';
import { api } from '../../lib/api';
import { formatBytes } from '../../lib/format';
import { useStore } from '../../stores/store';
import { JobSummary } from '../activity/job-progress';
import { SOURCE_LOOK, snapshotName } from './snapshot-labels';
import { useAction } from './use-action';
import { startVaultJob, useNewestJobs } from './vault-jobs';

const COUNT_FIELDS = [
  ['keepLast', 'Keep last'],
  ['keepHourly', 'Hourly'],
  ['keepDaily', 'Daily'],
  ['keepWeekly', 'Weekly'],
  ['keepMonthly', 'Monthly'],
  ['keepYearly', 'Yearly'],
] as const;

type CountKey = (typeof COUNT_FIELDS)[number][0];
type Form = Record<CountKey | 'keepWithin', string>;
type Errors = Partial<Record<keyof Form | 'policy', string>>;

const EMPTY: Form = { keepLast: '', keepHourly: '', keepDaily: '', keepWeekly: '', keepMonthly: '', keepYearly: '', keepWithin: '' };

/** The form as a policy the core accepts, or what is wrong with it, next to the field concerned. */
function toPolicy(form: Form): { policy: RetentionPolicyInput } | { errors: Errors } {
  const errors: Errors = {};
  const raw: Record<string, unknown> = {};
  for (const [key, label] of COUNT_FIELDS) {
    const text = form[key].trim();
    if (!text) continue;
    if (!/^-?\d+$/.test(text)) errors[key] = `${label}: a whole number (-1 keeps all)`;
    else raw[key] = Number(text);
  }
  if (form.keepWithin.trim()) raw.keepWithin = form.keepWithin.trim();
  if (Object.keys(raw).length === 0 && Object.keys(errors).length === 0) errors.policy = 'Fill in at least one rule: an empty policy would keep everything.';
  const parsed = retentionPolicySchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path[0] as keyof Form;
      errors[key] ??= issue.message;
    }
  }
  return Object.keys(errors).length > 0 || !parsed.success ? { errors } : { policy: parsed.data };
}

/** Kept and removed snapshots per group, each with restic's reasons in words. */
function PreviewResult(props: { preview: ForgetPreview }): ReactNode {
  const { preview } = props;
  return (
    <div className="vault-forget-preview" aria-label="Retention preview">
      <p role="status">
        This policy keeps <strong>{preview.keepCount}</strong> snapshot{preview.keepCount === 1 ? '' : 's'} and removes{' '}
        <strong>{preview.removeCount}</strong>.
      </p>
      {preview.groups.map((group) => (
        <div key={`${group.hostname} ${group.paths?.join(',') ?? ''}`} className="vault-forget-group">
          <h4>
            {group.hostname} <span className="muted">{group.paths?.join(', ')}</span>
          </h4>
          <table className="data-table">
            <thead>
              <tr>
                <th scope="col">Decision</th>
                <th scope="col">Snapshot</th>
                <th scope="col">Stored</th>
                <th scope="col">Why</th>
              </tr>
            </thead>
            <tbody>
              {group.decisions.map((d) => (
                <tr key={d.snapshot.id} className={d.keep ? 'decision-keep' : 'decision-remove'} aria-label={`${d.keep ? 'Keep' : 'Remove'} ${d.snapshot.shortId}`}>
                  <td>
                    <Pill tone={d.keep ? 'ok' : 'danger'}>{d.keep ? 'Keep' : 'Remove'}</Pill>
                  </td>
                  <td>
                    {snapshotName(d.snapshot)}{' '}
                    <span className="muted">
                      <code>{d.snapshot.shortId}</code> · {SOURCE_LOOK[d.snapshot.source].label}
                      {d.snapshot.archive ? ` · ${formatBytes(d.snapshot.archive.size)}` : ''}
                    </span>
                  </td>
                  <td><When iso={d.snapshot.time} /></td>
                  <td>{d.reasons.join('; ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}

/**
 * Retention: restic's keep rules, a preview of what they keep and remove and why, and only then
 * "Apply" (optionally freeing space) behind a confirmation with the number removed.
 */
export function RetentionPanel(): ReactNode {
  const installations = useStore((s) => s.fleet.installations);
  const revision = useStore((s) => s.vault.revision);
  const [form, setForm] = useState<Form>(EMPTY);
  const [scope, setScope] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [preview, setPreview] = useState<{ key: string; revision: number; policy: RetentionPolicyInput; result: ForgetPreview } | null>(null);
  const [confirm, setConfirm] = useState<{ prune: boolean } | null>(null);
  const [latest] = useNewestJobs('vault-forget', 1);
  const [latestPrune] = useNewestJobs('vault-prune', 1);

  const scopeInput = scope ? { installationId: scope } : {};
  const key = JSON.stringify([form, scope]);
  // A preview answers for one policy on one state of the vault: any edit or vault change voids it.
  const current = preview && preview.key === key && preview.revision === revision ? preview : null;

  const runPreview = useAction(async (policy: RetentionPolicyInput) => {
    const result = await api.call('vault:forget-preview', { policy, ...scopeInput });
    setPreview({ key, revision, policy, result });
  });
  const apply = useAction(async (prune: boolean) => {
    if (!current) return;
    await startVaultJob(api.call('vault:forget', { policy: current.policy, prune, ...scopeInput }));
    setConfirm(null);
  });

  const prune = useAction(async () => {
    await startVaultJob(api.call('vault:prune', {}));
  });

  const submit = (event: FormEvent): void => {
    event.preventDefault();
    const checked = toPolicy(form);
    if ('errors' in checked) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    runPreview.run(checked.policy);
  };
  const edit = (field: keyof Form) => (event: { target: { value: string } }) => setForm((f) => ({ ...f, [field]: event.target.value }));
  const applying = latest !== undefined && !isFinished(latest.status);
  const canApply = current !== null && current.result.removeCount > 0 && !applying && !apply.busy;

  return (
    <section className="card" aria-labelledby="vault-retention-h">
      <h2 id="vault-retention-h">Retention</h2>
      <p className="muted">
        Which snapshots to keep, per installation, with restic’s rules. Counts keep the newest snapshot of each of the last
        N hours, days, weeks…; “keep within” keeps everything newer than a duration such as <code>30d</code> or{' '}
        <code>1y6m</code>. Preview first: nothing is removed until you apply it.
      </p>
      <form onSubmit={submit} noValidate>
        <div className="vault-retention-grid">
          {COUNT_FIELDS.map(([field, label]) => (
            <Field key={field} label={label} error={errors[field]}>
              {(control) => <input {...control} type="text" inputMode="numeric" value={form[field]} onChange={edit(field)} placeholder="—" />}
            </Field>
          ))}
          <Field label="Keep within" error={errors.keepWithin}>
            {(control) => <input {...control} type="text" value={form.keepWithin} onChange={edit('keepWithin')} placeholder="e.g. 30d" />}
          </Field>
          <Field label="Installations">
            {(control) => (
              <select {...control} value={scope} onChange={(e) => setScope(e.target.value)}>
                <option value="">All</option>
                {(installations ?? []).map((i) => (
                  <option key={i.id} value={i.id}>
                    {i.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        {errors.policy ? (
          <p className="field-error" role="alert">
            {errors.policy}
          </p>
        ) : null}
        <div className="page-toolbar vault-retention-actions">
          <button type="submit" className="button" disabled={runPreview.busy}>
            {runPreview.busy ? 'Previewing…' : 'Preview'}
          </button>
          <button type="button" className="button button-danger" disabled={!canApply} onClick={() => setConfirm({ prune: false })}>
            Apply
          </button>
          <button type="button" className="button button-danger" disabled={!canApply} onClick={() => setConfirm({ prune: true })}>
            Apply and free space
          </button>
          {!current ? <span className="muted">Apply becomes available after a preview of the current rules.</span> : null}
          {current && current.result.removeCount === 0 ? <span className="muted">Nothing to remove.</span> : null}
          <span className="spacer" />
          <button
            type="button"
            className="button"
            onClick={() => prune.run()}
            disabled={prune.busy || applying || (latestPrune !== undefined && !isFinished(latestPrune.status))}
            title="Delete data that no snapshot uses any more (after snapshots were removed without freeing space)"
          >
            Free unused space
          </button>
        </div>
      </form>
      {runPreview.error ? <ErrorMessage error={runPreview.error} title="Could not preview the policy." /> : null}
      {current ? <PreviewResult preview={current.result} /> : null}
      {prune.error ? <ErrorMessage error={prune.error} title="Could not start freeing space." /> : null}
      {latest ? <JobSummary job={latest} /> : null}
      {latestPrune ? <JobSummary job={latestPrune} /> : null}
      {confirm && current ? (
        <ConfirmDialog
          title={`Remove ${current.result.removeCount} snapshot${current.result.removeCount === 1 ? '' : 's'}?`}
          confirmLabel={confirm.prune ? `Remove ${current.result.removeCount} and free space` : `Remove ${current.result.removeCount}`}
          onConfirm={() => apply.run(confirm.prune)}
          onCancel={() => {
            apply.clearError();
            setConfirm(null);
          }}
          busy={apply.busy}
        >
          <p>
            Applying this policy removes <strong>{current.result.removeCount}</strong> snapshot
            {current.result.removeCount === 1 ? '' : 's'} from the vault and keeps {current.result.keepCount}. Removed
            snapshots cannot be brought back.
          </p>
          <p>
            {confirm.prune
              ? 'Then it deletes the data no remaining snapshot uses, so the space is freed at once.'
              : 'Their data stays in the vault until you free space (prune).'}
          </p>
          {apply.error ? <ErrorMessage error={apply.error} title="Could not apply the policy." /> : null}
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
