import type { AppModuleInfo } from '../../shared/apps';
import type { SystemInfo } from '../../shared/contract/system';

/** How the renderer is connected to the core right now. */
export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'no-token';

/** Facts about the core: version, data directory, secret backend; and our link to it. */
export interface SystemSlice {
  system: {
    info: SystemInfo | null;
    link: LinkState;
    /** The app modules the core has (labels, settings, secret slots); empty until loaded. */
    modules: AppModuleInfo[];
  };
}

export const initialSystem: SystemSlice['system'] = { info: null, link: 'connecting', modules: [] };
