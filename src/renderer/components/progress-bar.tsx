import type { ReactNode } from 'react';

/** A thin bar; indeterminate (striped) when the total is unknown. */
export function ProgressBar(props: { value: number; total: number | null; label: string }): ReactNode {
  const fraction = props.total && props.total > 0 ? Math.min(1, props.value / props.total) : null;
  return (
    <div
      className={`progress${fraction === null ? ' progress-indeterminate' : ''}`}
      role="progressbar"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={fraction === null ? undefined : Math.round(fraction * 100)}
    >
      <div className="progress-fill" style={{ width: fraction === null ? '100%' : `${(fraction * 100).toFixed(1)}%` }} />
    </div>
  );
}
