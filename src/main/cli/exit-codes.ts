/**
 * The exit codes of every `lifeboat` command, one table (restic's numbering where restic has one).
 * A command's code follows its outcome: a restore whose verification failed exits 1, one that
 * finished with warnings (verification incomplete) exits 3.
 */
import type { ErrorCode } from '../../shared/errors';

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  warnings: 3,
  noVault: 10,
  locked: 11,
  wrongPassword: 12,
  cancelled: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit code an error ends a command with. */
export function exitCodeForError(code: ErrorCode): ExitCode {
  switch (code) {
    case 'INVALID_INPUT':
      return EXIT.usage;
    case 'VAULT_NOT_INITIALIZED':
      return EXIT.noVault;
    case 'VAULT_LOCKED':
      return EXIT.locked;
    case 'VAULT_WRONG_PASSWORD':
      return EXIT.wrongPassword;
    case 'CANCELLED':
      return EXIT.cancelled;
    default:
      return EXIT.failed;
  }
}

/** The outcome of one command so far: the worst code any step reported wins over `ok` and `warnings`. */
export class CommandOutcome {
  code: ExitCode = EXIT.ok;

  /** Records a step's outcome; a failure is never downgraded to warnings or ok. */
  report(code: ExitCode): void {
    if (this.code === EXIT.ok || (this.code === EXIT.warnings && code !== EXIT.ok)) this.code = code;
  }
}
