import type { ComponentType, ReactNode } from 'react';
import { ActivityIcon, FleetIcon, SettingsIcon, VaultIcon } from '../components/icons';
import { FleetPage } from '../features/fleet/fleet-page';
import { VaultPage } from '../features/vault/vault-page';
import { ActivityPage } from '../features/activity/activity-page';
import { SettingsPage } from '../features/settings/settings-page';

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
