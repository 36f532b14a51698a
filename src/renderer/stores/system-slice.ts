import type { SystemInfo } from '../../shared/contract/system';

/** How the renderer is connected to the core right now. */
export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'unauthorized' | 'no-token';

/** Facts about the core: version, data directory, secret backend; and our link to it. */
export interface SystemSlice {
  system: {
    info: SystemInfo | null;
    link: LinkState;
  };
}

export const initialSystem: SystemSlice['system'] = { info: null, link: 'connecting' };
