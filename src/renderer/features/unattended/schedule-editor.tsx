import { useEffect, useState, type ReactNode } from 'react';
import { When } from '../../components/when';
import type { InstallationSchedule, ScheduleSpec } from '../../../shared/schedule';
import { Field } from '../../components/field';
import { api } from '../../lib/api';

/** What the schedule fieldset edits; `preset: 'default'` follows the default schedule. */
export interface ScheduleDraft {
  preset: 'default' | ScheduleSpec['preset'];
  minute: string;
  time: string;
  weekday: string;
  expression: string;
  timeZone: string;
  triggerFirst: boolean;
  retention: InstallationSchedule['retention'];
  drill: InstallationSchedule['drill'];
}

/** The drill schedule the form's checkbox turns on: the newest snapshot, every Sunday at 04:00. */
export const WEEKLY_DRILL: ScheduleSpec = { preset: 'weekly', weekday: 0, time: '04:00' };

export const emptyScheduleDraft = (): ScheduleDraft => ({ preset: 'default', minute: '', time: '02:30', weekday: '0', expression: '0 */6 * * *', timeZone: '', triggerFirst: false, retention: null, drill: null });

export function draftFromSchedule(s: InstallationSchedule | undefined): ScheduleDraft {
  const draft = emptyScheduleDraft();
  if (!s) return draft;
  draft.triggerFirst = s.triggerFirst;
  draft.retention = s.retention;
  draft.drill = s.drill;
  const p = s.pull;
  if (!p) return draft;
  draft.preset = p.preset;
  if ('timeZone' in p && p.timeZone) draft.timeZone = p.timeZone;
  if (p.preset === 'hourly' && p.minute !== undefined) draft.minute = String(p.minute);
  if (p.preset === 'daily' || p.preset === 'weekly') draft.time = p.time;
  if (p.preset === 'weekly') draft.weekday = String(p.weekday);
  if (p.preset === 'cron') draft.expression = p.expression;
  return draft;
}

/** The spec a draft names; null: follow the default. */
export function specFromDraft(d: ScheduleDraft): ScheduleSpec | null {
  const zone = d.timeZone.trim() ? { timeZone: d.timeZone.trim() } : {};
  switch (d.preset) {
    case 'default':
      return null;
    case 'off':
      return { preset: 'off' };
    case 'hourly':
      return { preset: 'hourly', ...(d.minute.trim() ? { minute: Number(d.minute) } : {}), ...zone };
    case 'daily':
      return { preset: 'daily', time: d.time, ...zone };
    case 'weekly':
      return { preset: 'weekly', weekday: Number(d.weekday), time: d.time, ...zone };
    case 'cron':
      return { preset: 'cron', expression: d.expression, ...zone };
  }
}

export const scheduleFromDraft = (d: ScheduleDraft): InstallationSchedule => ({ pull: specFromDraft(d), triggerFirst: d.triggerFirst, retention: d.retention, drill: d.drill });

const PRESETS: { value: ScheduleDraft['preset']; label: string }[] = [
  { value: 'default', label: 'Follow the default schedule' },
  { value: 'off', label: 'Off (pull by hand)' },
  { value: 'hourly', label: 'Hourly' },
  { value: 'daily', label: 'Daily at…' },
  { value: 'weekly', label: 'Weekly on…' },
  { value: 'cron', label: 'Cron expression' },
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** The schedule fieldset of the installation form, with the next five run times. */
export function ScheduleEditor(props: { draft: ScheduleDraft; onChange: (d: ScheduleDraft) => void; installationId: string | undefined; defaultPull: ScheduleSpec | null; canTrigger: boolean }): ReactNode {
  const { draft, onChange } = props;
  const patch = (c: Partial<ScheduleDraft>): void => onChange({ ...draft, ...c });
  const spec = specFromDraft(draft) ?? props.defaultPull;
  const [preview, setPreview] = useState<{ describe: string; nextRuns: string[] } | { error: string } | null>(null);
  const key = JSON.stringify(spec);

  useEffect(() => {
    if (!spec) return;
    let current = true;
    const timer = setTimeout(() => {
      api.call('schedule:preview', { spec, ...(props.installationId ? { installationId: props.installationId } : {}) }).then(
        (p) => current && setPreview(p),
        (e: unknown) => current && setPreview({ error: e instanceof Error ? e.message : String(e) }),
      );
    }, 200);
    return () => {
      current = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, props.installationId]);

  return (
    <fieldset className="form-section">
      <legend>Schedule</legend>
      <div className="form-grid">
        <Field label="Pull the newest backup" className="span-2">
          {(c) => (
            <select {...c} value={draft.preset} onChange={(ev) => patch({ preset: ev.target.value as ScheduleDraft['preset'] })}>
              {PRESETS.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {draft.preset === 'hourly' ? (
          <Field label="At minute (optional)" className="span-1" hint="Empty: spread over the hour">
            {(c) => <input {...c} type="text" inputMode="numeric" value={draft.minute} onChange={(ev) => patch({ minute: ev.target.value })} />}
          </Field>
        ) : null}
        {draft.preset === 'weekly' ? (
          <Field label="Day" className="span-1">
            {(c) => (
              <select {...c} value={draft.weekday} onChange={(ev) => patch({ weekday: ev.target.value })}>
                {WEEKDAYS.map((d, i) => (
                  <option key={d} value={String(i)}>
                    {d}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        {draft.preset === 'daily' || draft.preset === 'weekly' ? (
          <Field label="Time (HH:MM)" className="span-1">
            {(c) => <input {...c} type="text" value={draft.time} onChange={(ev) => patch({ time: ev.target.value })} />}
          </Field>
        ) : null}
        {draft.preset === 'cron' ? (
          <Field label="Cron expression" className="span-2" hint="minute hour day month weekday">
            {(c) => <input {...c} type="text" value={draft.expression} onChange={(ev) => patch({ expression: ev.target.value })} />}
          </Field>
        ) : null}
        {draft.preset !== 'default' && draft.preset !== 'off' ? (
          <Field label="Time zone (optional)" className="span-2" hint="e.g. Europe/Berlin; empty: this machine's">
            {(c) => <input {...c} type="text" value={draft.timeZone} onChange={(ev) => patch({ timeZone: ev.target.value })} />}
          </Field>
        ) : null}
      </div>
      {props.canTrigger ? (
        <label className="checkbox">
          <input type="checkbox" checked={draft.triggerFirst} onChange={(ev) => patch({ triggerFirst: ev.target.checked })} />
          Ask the app to make a backup first (trigger, then pull it)
        </label>
      ) : null}
      <label className="checkbox">
        <input type="checkbox" checked={draft.drill !== null && draft.drill.preset !== 'off'} onChange={(ev) => patch({ drill: ev.target.checked ? (draft.drill && draft.drill.preset !== 'off' ? draft.drill : WEEKLY_DRILL) : null })} />
        Restore drill of the newest snapshot every week (Sunday 04:00); a failure notifies
      </label>
      <div className="next-runs" aria-live="polite">
        {!spec || spec.preset === 'off' ? (
          <p className="muted">{draft.preset === 'default' ? 'The default schedule is off: this installation is pulled by hand.' : 'Pulled by hand only.'}</p>
        ) : preview && 'error' in preview ? (
          <p className="field-error" role="alert">{preview.error}</p>
        ) : preview ? (
          <>
            <p className="muted">
              {preview.describe}
              {draft.preset === 'default' ? ' (the default)' : ''} — next runs:
            </p>
            <ol aria-label="Next runs">
              {preview.nextRuns.map((t) => (
                <li key={t}>
                  <When iso={t} />
                </li>
              ))}
            </ol>
          </>
        ) : null}
      </div>
    </fieldset>
  );
}
