import { lazy, type ComponentType, type ReactNode } from 'react';
import { ActivityIcon, FleetIcon, SettingsIcon, VaultIcon } from '../components/icons';
import { FleetPage } from '../features/fleet/fleet-page';

// The start page is in the first chunk; the others load when first visited (their own chunks).
const VaultPage = lazy(() => import('../features/vault/vault-page').then((m) => ({ default: m.VaultPage })));
const ActivityPage = lazy(() => import('../features/activity/activity-page').then((m) => ({ default: m.ActivityPage })));
const SettingsPage = lazy(() => import('../features/settings/settings-page').then((m) => ({ default: m.SettingsPage })));

/** A page of the app: add one here and it gets a nav item, a URL and a heading. */
export interface Route {
  id: string;
  label: string;
  icon: (props: object) => ReactNode;
  Page: ComponentType;
}

/** In nav order; the first is the start page. */
export const ROUTES: readonly Route[] = [
  { id: 'fleet', label: 'Fleet', icon: FleetIcon, Page: FleetPage },
  { id: 'vault', label: 'Vault', icon: VaultIcon, Page: VaultPage },
  { id: 'activity', label: 'Activity', icon: ActivityIcon, Page: ActivityPage },
  { id: 'settings', label: 'Settings', icon: SettingsIcon, Page: SettingsPage },
];
