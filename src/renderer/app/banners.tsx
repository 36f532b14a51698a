import { useState, type ReactNode } from 'react';
import { useStore } from '../stores/store';
import { api } from '../lib/api';
import { ErrorMessage } from '../components/error-message';

/** Without a keychain Lifeboat cannot keep passwords; offer "ask every time" instead. */
export function SecretsBanner(): ReactNode {
  const secrets = useStore((s) => s.system.info?.secrets);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  if (secrets?.kind !== 'unavailable') return null;

  const enable = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await api.call('system:use-ask-every-time', { enabled: true });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="banner banner-warn" role="region" aria-label="No keychain">
      <div>
        <strong>No keychain is available, so Lifeboat cannot store passwords or tokens.</strong>
        <div className="banner-detail">{secrets.description}</div>
        <div className="banner-detail">
          You can still work: with “ask every time”, secrets you type are kept in memory for this session only and asked
          for again after a restart.
        </div>
        {error ? <ErrorMessage error={error} /> : null}
      </div>
      <button type="button" className="button button-primary" onClick={() => void enable()} disabled={busy}>
        Ask every time
      </button>
    </div>
  );
}

/** Tells the user when the page has lost its core, and what to do about it. */
export function LinkBanner(): ReactNode {
  const link = useStore((s) => s.system.link);
  switch (link) {
    case 'live':
    case 'connecting':
      return null;
    case 'reconnecting':
      return (
        <div className="banner banner-info" role="status">
          Lost the connection to the Lifeboat core; reconnecting… Changes made meanwhile appear once it is back.
        </div>
      );
    case 'unauthorized':
      return (
        <div className="banner banner-danger" role="alert">
          The Lifeboat core refused this page’s session. Open the link that <code>lifeboat serve</code> printed again (each run has a new token).
        </div>
      );
    case 'no-token':
      return null;
  }
}
