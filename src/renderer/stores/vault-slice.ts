/**
 * The vault as the core reports it. The vault commands are not in the contract yet; `revision`
 * counts vault:changed events so vault views can reload when snapshots come or go.
 */
export interface VaultSlice {
  vault: {
    revision: number;
  };
}

export const initialVault: VaultSlice['vault'] = { revision: 0 };
