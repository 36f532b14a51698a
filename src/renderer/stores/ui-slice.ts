import type { StateCreator } from 'zustand';
import type { AppState } from './store';
import type { PickedFile } from '../features/preview/archive-file-picker';

/** The user's theme choice; 'system' follows prefers-color-scheme. */
export type ThemePreference = 'system' | 'light' | 'dark';
export const THEME_PREFERENCES: readonly ThemePreference[] = ['system', 'light', 'dark'];

const THEME_KEY = 'lifeboat.theme';

function storedTheme(): ThemePreference {
  const value = window.localStorage.getItem(THEME_KEY);
  return THEME_PREFERENCES.find((t) => t === value) ?? 'system';
}

/** What the user chose in this window: theme, and which connection test job belongs to which row. */
export interface UiSlice {
  ui: {
    theme: ThemePreference;
    /** installationId → id of the latest connection-test job started from this window. */
    connectionTests: Record<string, string>;
    /** A file dropped on the window, staged, waiting for the file preview (and then a restore). */
    droppedFile: PickedFile | null;
  };
  setTheme(theme: ThemePreference): void;
  setDroppedFile(file: PickedFile | null): void;
  rememberConnectionTest(installationId: string, jobId: string): void;
}

export const createUiSlice: StateCreator<AppState, [], [], UiSlice> = (set) => ({
  ui: { theme: storedTheme(), connectionTests: {}, droppedFile: null },
  setDroppedFile: (droppedFile) => set((s) => ({ ui: { ...s.ui, droppedFile } })),
  setTheme: (theme) => {
    window.localStorage.setItem(THEME_KEY, theme);
    set((s) => ({ ui: { ...s.ui, theme } }));
  },
  rememberConnectionTest: (installationId, jobId) =>
    set((s) => ({ ui: { ...s.ui, connectionTests: { ...s.ui.connectionTests, [installationId]: jobId } } })),
});
