import type { ReactNode } from 'react';
import type { ConnectionState, InstallationStatus } from '../../../shared/installations';
import { Pill, type PillTone } from '../../components/pill';

const LOOK: Record<ConnectionState, { tone: PillTone; label: string }> = {
  unknown: { tone: 'neutral', label: 'Not checked' },
  checking: { tone: 'info', label: 'Checking…' },
  online: { tone: 'ok', label: 'Online' },
  offline: { tone: 'danger', label: 'Offline' },
  'host-key-untrusted': { tone: 'warn', label: 'Untrusted key' },
  'auth-failed': { tone: 'danger', label: 'Auth failed' },
};

/** The live connection state of an installation, from installation:status events. */
export function StatusPill(props: { status: InstallationStatus | undefined }): ReactNode {
  const state = props.status?.state ?? 'unknown';
  const look = LOOK[state];
  const latency = state === 'online' && props.status?.latencyMs !== undefined ? ` · ${props.status.latencyMs} ms` : '';
  return (
    <Pill tone={look.tone} title={props.status?.message} pulse={state === 'checking'}>
      <span data-state={state}>
        {look.label}
        {latency}
      </span>
    </Pill>
  );
}
