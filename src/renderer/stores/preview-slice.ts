import type { StateCreator } from 'zustand';
import type { AppState } from './store';

/**
 * Which preview job shows which archive, chosen in this window: going back to a snapshot's
 * preview shows the report already made instead of reading the archive again.
 */
export interface PreviewSlice {
  preview: {
    /** Snapshot id → id of the preview job started for it. */
    jobBySnapshot: Record<string, string>;
  };
  rememberPreview(snapshotId: string, jobId: string): void;
}

export const createPreviewSlice: StateCreator<AppState, [], [], PreviewSlice> = (set) => ({
  preview: { jobBySnapshot: {} },
  rememberPreview: (snapshotId, jobId) => set((s) => ({ preview: { jobBySnapshot: { ...s.preview.jobBySnapshot, [snapshotId]: jobId } } })),
});
