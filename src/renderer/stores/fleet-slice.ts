import type { Installation, InstallationStatus } from '../../shared/installations';
import type { FleetEntry } from '../../shared/apps';
import type { ErrorPayload } from '../../shared/errors';

/** The installations, their live connection status and the fleet overview, as the core reports them. */
export interface FleetSlice {
  fleet: {
    /** null until the first list arrives. */
    installations: Installation[] | null;
    statuses: Record<string, InstallationStatus>;
    /** Why the last load failed, shown instead of a silent empty list. */
    loadError: ErrorPayload | null;
    /** fleet:overview by installation id (freshness, newest backups, capabilities); null until loaded. */
    overview: Record<string, FleetEntry> | null;
    overviewError: ErrorPayload | null;
  };
}

export const initialFleet: FleetSlice['fleet'] = { installations: null, statuses: {}, loadError: null, overview: null, overviewError: null };
