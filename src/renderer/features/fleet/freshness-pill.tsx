import type { ReactNode } from 'react';
import type { Freshness } from '../../../shared/apps';
import { Pill, type PillTone } from '../../components/pill';

const LOOK: Record<Freshness, { tone: PillTone; label: string; title: string }> = {
  fresh: { tone: 'ok', label: 'Fresh', title: 'The newest snapshot is within the expected cadence.' },
  due: { tone: 'warn', label: 'Due', title: 'The newest snapshot is older than the cadence: a new backup is due.' },
  overdue: { tone: 'danger', label: 'Overdue', title: 'No snapshot for more than twice the cadence.' },
  never: { tone: 'neutral', label: 'Never backed up', title: 'Nothing of this installation is in the vault yet: pull its newest backup.' },
  failing: { tone: 'danger', label: 'Failing', title: 'The last pull or check failed, or the installation cannot be reached.' },
  unknown: { tone: 'neutral', label: 'Unknown', title: 'No expected cadence is known: set one on the installation.' },
};

/** "every 24 h", "every 7 d", or null without a cadence. */
export function cadenceText(hours: number | null): string | null {
  if (hours === null) return null;
  return hours >= 48 && hours % 24 === 0 ? `every ${hours / 24} d` : `every ${Number(hours.toFixed(1))} h`;
}

/** How recent the vault's copy of an installation is, against its expected cadence. */
export function FreshnessPill(props: { freshness: Freshness; cadenceHours: number | null }): ReactNode {
  const look = LOOK[props.freshness];
  const cadence = cadenceText(props.cadenceHours);
  return (
    <Pill tone={look.tone} title={look.title}>
      <span data-freshness={props.freshness}>
        {look.label}
        {cadence ? <span className="pill-extra"> · {cadence}</span> : null}
      </span>
    </Pill>
  );
}
