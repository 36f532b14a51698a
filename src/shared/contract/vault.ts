/** Vault commands (the restic-format archive store). Filled in by the vault issue. */
export const vaultCommands = {};
