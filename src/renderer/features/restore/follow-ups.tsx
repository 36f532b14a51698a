import { useState, type ReactNode } from 'react';

const storageKey = (planId: string): string => `lifeboat.follow-ups.${planId}`;

function readDone(planId: string): string[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey(planId)) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * The steps the plan leaves to the operator ("afterwards, restore the files directory"), as a
 * checklist: ticking one is remembered in this browser for this restore, so the report still says
 * what is left when it is opened again.
 */
export function FollowUpChecklist(props: { planId: string; steps: string[] }): ReactNode {
  const { planId, steps } = props;
  const [done, setDone] = useState<string[]>(() => readDone(planId));
  const toggle = (step: string, checked: boolean): void => {
    const next = checked ? [...new Set([...done, step])] : done.filter((s) => s !== step);
    setDone(next);
    localStorage.setItem(storageKey(planId), JSON.stringify(next));
  };
  const left = steps.filter((s) => !done.includes(s)).length;
  return (
    <fieldset className="alert alert-info follow-ups" aria-label="Still to do">
      <legend>
        <strong>Still to do</strong> <span className="muted">{left === 0 ? '— all done' : `— ${left} of ${steps.length} left`}</span>
      </legend>
      <ul className="check-list">
        {steps.map((step) => (
          <li key={step}>
            <label>
              <input type="checkbox" checked={done.includes(step)} onChange={(e) => toggle(step, e.target.checked)} /> {step}
            </label>
          </li>
        ))}
      </ul>
    </fieldset>
  );
}
