/** App adapter commands (list, trigger, pull, preview, restore). Filled in by the adapters issue. */
export const appCommands = {};
