// First: the twin's bootstrap call is under way (boot.ts, which index.html also loads first, async).
import './boot';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app/app';
import { startSync } from './lib/api';
import './app/styles.css';
// The pages' styles are used by the Fleet page's parts too (job progress, snapshot lines): in the
// first stylesheet, not in the lazy pages' chunks, so a row looks the same before a page is visited.
import './features/vault/vault.css';
import './features/activity/activity.css';

// Before the first render: takes the twin token out of the address bar and starts the event feed.
startSync();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
