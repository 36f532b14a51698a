import { useState, type ReactNode } from 'react';
import type { Installation } from '../../../shared/installations';
import { assertNever } from '../../../shared/errors';
import { Dialog } from '../../components/dialog';
import { ErrorMessage } from '../../components/error-message';
import { ShieldAlertIcon } from '../../components/icons';
import { api } from '../../lib/api';
import { startConnectionTest, type TrustPrompt } from './connection-test';

const SSH_KEYGEN = 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub';
const OPENSSL_FP = 'openssl x509 -noout -fingerprint -sha256 -in cert.pem';

/**
 * Asks the operator to trust a host key or certificate seen for the first time, or refuses a
 * changed one. Trusting pins it on the installation and runs the test again.
 */
export function TrustDialog(props: { prompt: TrustPrompt; installation: Installation; onClose: () => void; onEdit: () => void }): ReactNode {
  const { prompt, installation, onClose } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const trust = async (pin: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      await pin();
      onClose();
      await startConnectionTest(installation.id);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };

  switch (prompt.kind) {
    case 'ssh-unknown':
      if (prompt.hop === 'jump') {
        return (
          <Refusal title="The jump host is not known yet" onClose={onClose} onEdit={props.onEdit} rows={[['Jump host', prompt.host], ['Algorithm', prompt.algorithm ?? 'unknown'], ['Fingerprint', prompt.fingerprint]]}>
            <p>
              Lifeboat reaches “{installation.name}” through the jump host <strong>{prompt.host}</strong>, whose host key is not in
              your <code>~/.ssh/known_hosts</code>. Only the server’s own key can be pinned here.
            </p>
            <p>
              Check the fingerprint on the jump host (<code>{SSH_KEYGEN}</code>), connect to it once with <code>ssh</code> to
              record it in known_hosts, then test again.
            </p>
          </Refusal>
        );
      }
      return (
        <FirstSeen
          title="Trust this SSH host key?"
          onClose={onClose}
          busy={busy}
          error={error}
          onTrust={() => void trust(() => api.call('installations:trust-host-key', { id: installation.id, fingerprint: prompt.fingerprint }))}
          rows={[['Host', prompt.host], ['Algorithm', prompt.algorithm ?? 'unknown'], ['Fingerprint', prompt.fingerprint]]}
        >
          <p>
            This is the first time Lifeboat connects to <strong>{prompt.host}</strong> for “{installation.name}”. The server proved it
            holds the key below. If it is the right key, no one can later pose as this server without Lifeboat noticing.
          </p>
          <p className="muted">
            Check it on the server (or ask its admin): <code>{SSH_KEYGEN}</code> prints the same SHA256 value.
          </p>
        </FirstSeen>
      );
    case 'tls-unknown':
      return (
        <FirstSeen
          title="Trust this certificate?"
          onClose={onClose}
          busy={busy}
          error={error}
          onTrust={() => void trust(() => api.call('installations:trust-certificate', { id: installation.id, sha256: prompt.sha256 }))}
          rows={[['Server', prompt.host], ['SHA-256', prompt.sha256]]}
        >
          <p>
            The HTTPS server <strong>{prompt.host}</strong> presented a certificate that no trusted authority vouches for
            {prompt.reason ? <> ({prompt.reason})</> : null}. Self-hosted servers often use one; trusting it pins exactly this
            certificate, and Lifeboat will refuse any other.
          </p>
          <p className="muted">
            Compare it with the server’s: <code>{OPENSSL_FP}</code>.
          </p>
        </FirstSeen>
      );
    case 'ssh-changed':
    case 'tls-changed': {
      const ssh = prompt.kind === 'ssh-changed';
      const what = ssh ? 'SSH host key' : 'TLS certificate';
      const viaKnownHosts = ssh && prompt.hop === 'jump';
      return (
        <Refusal title={`The ${what} has changed`} onClose={onClose} onEdit={props.onEdit} rows={[['Trusted', prompt.pinned ?? 'unknown'], ['Presented now', prompt.presented ?? 'unknown']]} badRow="Presented now">
          <div className="alert alert-danger" role="alert">
            <ShieldAlertIcon /> <strong>Lifeboat refused to connect to {prompt.host}.</strong> It presented a different {what} than the
            one you trusted. Someone may be intercepting the connection — or the server was reinstalled
            {ssh ? '' : ' or its certificate renewed'}.
          </div>
          <p>
            Do not trust the new one from here. Verify it on the server itself (its console, or a connection you already trust) with{' '}
            <code>{ssh ? SSH_KEYGEN : OPENSSL_FP}</code>.{' '}
            {viaKnownHosts
              ? 'If it matches, replace the jump host’s line in ~/.ssh/known_hosts and test again.'
              : `If it matches, edit the installation, paste the verified value into “Pinned ${ssh ? 'host key' : 'certificate SHA-256'}”, save, and test again.`}
          </p>
        </Refusal>
      );
    }
    default:
      return assertNever(prompt, 'trust prompt');
  }
}

type Rows = [label: string, value: string][];

function Fingerprints(props: { rows: Rows; bad?: string }): ReactNode {
  return (
    <dl className="fingerprint-box">
      {props.rows.map(([label, value]) => (
        <div key={label} className="fingerprint-row">
          <dt>{label}</dt>
          <dd className={label === props.bad ? 'fingerprint-bad' : undefined} data-testid={`fp-${label.toLowerCase().replace(/\W+/g, '-')}`}>
            {value}
          </dd>
        </div>
      ))}
    </dl>
  );
}

/** A key or certificate seen for the first time: show it, let the operator trust it. */
function FirstSeen(props: { title: string; rows: Rows; busy: boolean; error: unknown; onTrust: () => void; onClose: () => void; children: ReactNode }): ReactNode {
  return (
    <Dialog
      title={props.title}
      onClose={props.onClose}
      footer={
        <>
          <button type="button" className="button" onClick={props.onClose}>
            Not now
          </button>
          <button type="button" className="button button-primary" onClick={props.onTrust} disabled={props.busy} data-autofocus>
            Trust and connect
          </button>
        </>
      }
    >
      {props.children}
      <Fingerprints rows={props.rows} />
      {props.error ? <ErrorMessage error={props.error} /> : null}
    </Dialog>
  );
}

/** Something Lifeboat will not trust from here: explain, show the values, offer no trust button. */
function Refusal(props: { title: string; rows: Rows; badRow?: string; onClose: () => void; onEdit: () => void; children: ReactNode }): ReactNode {
  return (
    <Dialog
      title={props.title}
      tone="danger"
      onClose={props.onClose}
      footer={
        <>
          <button type="button" className="button" onClick={props.onEdit}>
            Edit installation…
          </button>
          <button type="button" className="button button-primary" onClick={props.onClose} data-autofocus>
            Close
          </button>
        </>
      }
    >
      {props.children}
      <Fingerprints rows={props.rows} bad={props.badRow} />
    </Dialog>
  );
}
