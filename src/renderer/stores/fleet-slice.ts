import type { Installation, InstallationStatus } from '../../shared/installations';
import type { ErrorPayload } from '../../shared/errors';

/** The installations and their live connection status, as the core reports them. */
export interface FleetSlice {
  fleet: {
    /** null until the first list arrives. */
    installations: Installation[] | null;
    statuses: Record<string, InstallationStatus>;
    /** Why the last load failed, shown instead of a silent empty list. */
    loadError: ErrorPayload | null;
  };
}

export const initialFleet: FleetSlice['fleet'] = { installations: null, statuses: {}, loadError: null };
