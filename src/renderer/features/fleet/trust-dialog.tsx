import { useState, type ReactNode } from 'react';
import type { Installation } from '../../../shared/installations';
import { assertNever } from '../../../shared/errors';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { ShieldAlertIcon } from '../../components/icons';
import { api } from '../../lib/api';
import { startConnectionTest, type TrustPrompt } from './connection-test';

/**
 * Asks the operator to trust a host key or certificate seen for the first time, or refuses a
 * changed one. Trusting pins it on the installation and runs the test again.
 */
export function TrustDialog(props: { prompt: TrustPrompt; installation: Installation; onClose: () => void; onEdit: () => void }): ReactNode {
  const { prompt, installation, onClose } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const trust = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      if (prompt.kind === 'ssh-unknown') await api.call('installations:trust-host-key', { id: installation.id, fingerprint: prompt.fingerprint });
      else if (prompt.kind === 'tls-unknown') await api.call('installations:trust-certificate', { id: installation.id, sha256: prompt.sha256 });
      onClose();
      await startConnectionTest(installation.id);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  switch (prompt.kind) {
    case 'ssh-unknown':
      return (
        <Dialog
          title="Trust this SSH host key?"
          onClose={onClose}
          footer={
            <>
              <button type="button" className="button" onClick={onClose}>
                Not now
              </button>
              <button type="button" className="button button-primary" onClick={() => void trust()} disabled={busy} data-autofocus>
                Trust and connect
              </button>
            </>
          }
        >
          <p>
            This is the first time Lifeboat connects to <strong>{prompt.host}</strong> for “{installation.name}”. The server proved it
            holds the key below. If it is the right key, no one can later pose as this server without Lifeboat noticing.
          </p>
          <p className="muted">
            Check it on the server (or ask its admin): <code>ssh-keygen -lf /etc/ssh/ssh_host_{algorithmFile(prompt.algorithm)}_key.pub</code>{' '}
            prints the same SHA256 line.
          </p>
          <dl className="fingerprint-box" aria-label="Host key">
            <dt>Host</dt>
            <dd>{prompt.host}</dd>
            <dt>Algorithm</dt>
            <dd>{prompt.algorithm ?? 'unknown'}</dd>
            <dt>Fingerprint</dt>
            <dd data-testid="fingerprint">{prompt.fingerprint}</dd>
          </dl>
          {error ? <ErrorMessage error={error} /> : null}
        </Dialog>
      );
    case 'tls-unknown':
      return (
        <Dialog
          title="Trust this certificate?"
          onClose={onClose}
          footer={
            <>
              <button type="button" className="button" onClick={onClose}>
                Not now
              </button>
              <button type="button" className="button button-primary" onClick={() => void trust()} disabled={busy} data-autofocus>
                Trust and connect
              </button>
            </>
          }
        >
          <p>
            The HTTPS server <strong>{prompt.host}</strong> presented a certificate that no trusted authority vouches for
            {prompt.reason ? <> ({prompt.reason})</> : null}. Self-hosted servers often use one; trusting it pins exactly this
            certificate, and Lifeboat will refuse any other.
          </p>
          <p className="muted">
            Compare it with the server’s: <code>openssl x509 -noout -fingerprint -sha256 -in cert.pem</code>.
          </p>
          <dl className="fingerprint-box" aria-label="Certificate">
            <dt>Server</dt>
            <dd>{prompt.host}</dd>
            <dt>SHA-256</dt>
            <dd data-testid="fingerprint">{prompt.sha256}</dd>
          </dl>
          {error ? <ErrorMessage error={error} /> : null}
        </Dialog>
      );
    case 'ssh-changed':
    case 'tls-changed': {
      const what = prompt.kind === 'ssh-changed' ? 'SSH host key' : 'TLS certificate';
      return (
        <Dialog
          title={`The ${what} has changed`}
          tone="danger"
          onClose={onClose}
          footer={
            <>
              <button type="button" className="button" onClick={props.onEdit}>
                Edit installation…
              </button>
              <button type="button" className="button button-primary" onClick={onClose} data-autofocus>
                Close
              </button>
            </>
          }
        >
          <div className="alert alert-danger" role="alert">
            <ShieldAlertIcon /> <strong>Lifeboat refused to connect to {prompt.host}.</strong> The server presented a different {what}{' '}
            than the one you trusted. Someone may be intercepting the connection — or the server was reinstalled
            {prompt.kind === 'tls-changed' ? ' or its certificate renewed' : ''}.
          </div>
          <dl className="fingerprint-box" aria-label={`${what} fingerprints`}>
            <dt>Trusted</dt>
            <dd>{prompt.pinned ?? 'unknown'}</dd>
            <dt>Presented now</dt>
            <dd className="fingerprint-bad">{prompt.presented ?? 'unknown'}</dd>
          </dl>
          <p>
            Do not trust the new one from here. Verify it on the server itself (console or a connection you already trust)
            {prompt.kind === 'ssh-changed' ? (
              <>
                {' '}with <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>
              </>
            ) : (
              <>
                {' '}with <code>openssl x509 -noout -fingerprint -sha256 -in cert.pem</code>
              </>
            )}
            . If it matches, edit the installation, clear the pinned {prompt.kind === 'ssh-changed' ? 'host key' : 'certificate'}, save, and test
            again to pin the new one.
          </p>
        </Dialog>
      );
    }
    default:
      return assertNever(prompt, 'trust prompt');
  }
}

/** ssh-ed25519 → ed25519, ecdsa-sha2-nistp256 → ecdsa: the host key file name on Debian-like systems. */
function algorithmFile(algorithm: string | null): string {
  if (!algorithm) return '*';
  if (algorithm.includes('ed25519')) return 'ed25519';
  if (algorithm.includes('ecdsa')) return 'ecdsa';
  if (algorithm.includes('rsa')) return 'rsa';
  return '*';
}
