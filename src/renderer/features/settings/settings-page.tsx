import { useState, type ReactNode } from 'react';
import { Segmented } from '../../components/field';
import { ErrorMessage } from '../../components/error-message';
import { api } from '../../lib/api';
import { useStore } from '../../stores/store';
import type { ThemePreference } from '../../stores/ui-slice';
import { NotificationSettings } from '../unattended/notification-settings';

const THEMES: readonly { value: ThemePreference; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

const TRANSPORTS = { ipc: 'Desktop app', 'http-twin': 'Browser (local twin)', 'in-process': 'In-process' } as const;

/** Appearance, where secrets are kept, and facts about this Lifeboat. */
export function SettingsPage(): ReactNode {
  const theme = useStore((s) => s.ui.theme);
  const setTheme = useStore((s) => s.setTheme);
  const info = useStore((s) => s.system.info);

  return (
    <div className="settings">
      <section className="card" aria-labelledby="appearance-h">
        <h2 id="appearance-h">Appearance</h2>
        <Segmented label="Theme" name="theme" value={theme} options={THEMES} onChange={setTheme} />
      </section>

      <section className="card" aria-labelledby="secrets-h">
        <h2 id="secrets-h">Secrets</h2>
        {info ? (
          <>
            <dl className="facts">
              <dt>Kept in</dt>
              <dd>
                {info.secrets.kind === 'keychain' ? 'System keychain' : info.secrets.kind === 'ask-every-time' ? 'Memory, this session only (ask every time)' : 'Nowhere — no keychain available'}
              </dd>
              <dt>Backend</dt>
              <dd>{info.secrets.description}</dd>
            </dl>
            <AskEveryTime kind={info.secrets.kind} />
          </>
        ) : (
          <p className="muted">Loading…</p>
        )}
        <p className="muted">Passwords and tokens never leave the core: this window only learns whether one is stored.</p>
      </section>

      <NotificationSettings />

      <section className="card" aria-labelledby="about-h">
        <h2 id="about-h">About</h2>
        <dl className="facts">
          <dt>Version</dt>
          <dd>{info?.version ?? '…'}</dd>
          <dt>Data directory</dt>
          <dd>
            <code>{info?.home ?? '…'}</code>
          </dd>
          <dt>Running as</dt>
          <dd>{info ? TRANSPORTS[info.transport] : '…'}</dd>
        </dl>
      </section>
    </div>
  );
}

/** Switches between the keychain-less modes; only offered when no keychain is there. */
function AskEveryTime(props: { kind: 'keychain' | 'ask-every-time' | 'unavailable' }): ReactNode {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (props.kind === 'keychain') return null;
  const enabled = props.kind === 'ask-every-time';

  const toggle = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await api.call('system:use-ask-every-time', { enabled: !enabled });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page-toolbar">
      <button type="button" className="button" onClick={() => void toggle()} disabled={busy}>
        {enabled ? 'Stop keeping secrets this session' : 'Ask every time'}
      </button>
      {error ? <ErrorMessage error={error} /> : null}
    </div>
  );
}
