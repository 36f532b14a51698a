import { Suspense, type ReactNode } from 'react';
import { ROUTES } from './routes';
import { hrefOf, useRoutePath } from './router';
import { useApplyTheme } from './use-theme';
import { PAGE_HEADING_ID, useFocusHeadingOnNavigate } from './use-focus-heading';
import { LinkBanner, SecretsBanner } from './banners';
import { InterruptedRestoresBanner } from '../features/restore/interrupted-banner';
import { WindowDrop } from './window-drop';
import { useStore } from '../stores/store';
import { LifeboatMark, LockIcon } from '../components/icons';
import { FleetStateHeader } from '../features/unattended/fleet-state';

/** The frame: nav on the left, a header saying where secrets live, the current page. */
export function App(): ReactNode {
  useApplyTheme();
  useFocusHeadingOnNavigate();
  const path = useRoutePath();
  const link = useStore((s) => s.system.link);
  const route = ROUTES.find((r) => r.id === path) ?? ROUTES[0];
  if (!route) throw new Error('ROUTES is empty');
  if (link === 'no-token') return <NoToken />;
  const { Page } = route;

  return (
    <div className="app">
      {/* A button, not href="#main": the fragment holds the page route. */}
      <button type="button" className="skip-link" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <aside className="sidebar">
        <div className="brand">
          <LifeboatMark width={22} height={22} />
          <span>Lifeboat</span>
        </div>
        <nav aria-label="Main">
          <ul>
            {ROUTES.map((r) => (
              <li key={r.id}>
                <a className="nav-item" href={hrefOf(r.id)} aria-current={r.id === route.id ? 'page' : undefined}>
                  <r.icon />
                  <span>{r.label}</span>
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <LinkIndicator />
      </aside>
      <div className="main-column">
        <header className="topbar">
          <h1 id={PAGE_HEADING_ID} tabIndex={-1}>
            {route.label}
          </h1>
          <FleetStateHeader />
          <SecretsBadge />
        </header>
        <SecretsBanner />
        <LinkBanner />
        <InterruptedRestoresBanner />
        <WindowDrop />
        <main id="main" className="page" tabIndex={-1}>
          <Suspense fallback={<p className="muted" role="status">Loading…</p>}>
            <Page />
          </Suspense>
        </main>
      </div>
    </div>
  );
}

function SecretsBadge(): ReactNode {
  const secrets = useStore((s) => s.system.info?.secrets);
  if (!secrets) return null;
  const label = {
    keychain: 'Secrets in keychain',
    'ask-every-time': 'Secrets: ask every time',
    unavailable: 'No secret storage',
  }[secrets.kind];
  return (
    <div className={`secrets-badge secrets-${secrets.kind}`} title={secrets.description} aria-label={`${label}: ${secrets.description}`}>
      <LockIcon width={14} height={14} />
      <span className="secrets-badge-kind">{label}</span>
      <span className="secrets-badge-desc">{secrets.description}</span>
    </div>
  );
}

function LinkIndicator(): ReactNode {
  const link = useStore((s) => s.system.link);
  const transport = useStore((s) => s.system.info?.transport);
  const text = link === 'live' ? 'Connected' : link === 'connecting' ? 'Connecting…' : link === 'reconnecting' ? 'Reconnecting…' : 'Disconnected';
  return (
    <div className={`link-indicator link-${link}`} role="status" aria-live="polite">
      <span className="link-dot" aria-hidden="true" />
      {text}
      {transport === 'http-twin' ? <span className="link-transport">browser</span> : null}
    </div>
  );
}

function NoToken(): ReactNode {
  return (
    <main className="no-token">
      <LifeboatMark width={40} height={40} />
      <h1>Open Lifeboat from its link</h1>
      <p>
        This page needs the one-time link that <code>lifeboat serve</code> prints, like{' '}
        <code>http://127.0.0.1:PORT/#token=…</code>. The token in it proves the page was opened by you.
      </p>
    </main>
  );
}
