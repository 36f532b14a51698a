/**
 * The renderer's one store, made of slices. Server-owned slices (system, fleet, jobs, vault) are
 * written only by lib/api.ts through ./server-writes; the ui slice holds what the user chose here.
 * Components select narrowly: `useStore((s) => s.fleet.statuses[id])`, never the whole state.
 */
import { create } from 'zustand';
import { initialSystem, type SystemSlice } from './system-slice';
import { initialFleet, type FleetSlice } from './fleet-slice';
import { initialJobs, type JobsSlice } from './jobs-slice';
import { initialVault, type VaultSlice } from './vault-slice';
import { createUiSlice, type UiSlice } from './ui-slice';
import { createPreviewSlice, type PreviewSlice } from './preview-slice';

export type AppState = SystemSlice & FleetSlice & JobsSlice & VaultSlice & UiSlice & PreviewSlice;

/** The store hook; also `useStore.getState()` outside React. */
export const useStore = create<AppState>()((...args) => ({
  system: initialSystem,
  fleet: initialFleet,
  jobs: initialJobs,
  vault: initialVault,
  ...createUiSlice(...args),
  ...createPreviewSlice(...args),
}));
