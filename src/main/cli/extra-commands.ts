import type { Command } from 'commander';
import type { Core } from '../core';
import type { CommandOutcome } from './exit-codes';
import { registerVaultCommands } from './vault-commands';
import { registerAppCommands } from './app-commands';
import { registerScheduleCommands } from './schedule-commands';
import { registerDrillCommands } from './drill-commands';
import { registerAnomalyCommands } from './anomaly-commands';
import { registerAlertCommands } from './alert-commands';

/** What command groups of later features (vault, pull, restore, audit) get from main. */
export interface CliContext {
  getCore(): Promise<Core>;
  json(): boolean;
  /** The command's outcome: a step that failed or warned reports it here, and main exits with it. */
  outcome: CommandOutcome;
}

/** Registers the command groups beyond installations and serve. */
export function registerExtraCommands(program: Command, ctx: CliContext): void {
  registerVaultCommands(program, ctx);
  registerAppCommands(program, ctx);
  registerScheduleCommands(program, ctx);
  registerDrillCommands(program, ctx);
  registerAnomalyCommands(program, ctx);
  registerAlertCommands(program, ctx);
}
